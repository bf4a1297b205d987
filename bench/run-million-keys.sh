#!/usr/bin/env bash
# The 1,000,000-key load (issue #12): one member of ours, then (after it is
# stopped) one member of etcd 3.4, each fresh; N distinct keys put once each
# (32 B keys, 256 B values, 256 clients over 16 connections, keys in order
# 0..N-1: --sequential-keys over a key space of N). Reports per server: time,
# puts/s, p99, RSS before the load and at the end (VmRSS), peak RSS (VmHWM), the
# data dir's size on disk (du; etcd's WAL segments are preallocated, 64 MiB each)
# and bytes of RSS per key ((RSS at the end - RSS before) / N).
#
#   npm run bench -- keys-1m          # = bench/run-million-keys.sh
#   N=20000 bench/run-million-keys.sh # a quick smoke run
#
# Environment: N (1000000), CLIENTS (256), CONNS (16), KEY_SIZE (32), VAL_SIZE (256),
# TIMEOUT_MS (30000), SERVERS ("etcd-ts etcd"), TRANSPORT, ETCD_BIN, KEEP=1, SKIP_BUILD=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-1000000}"
CLIENTS="${CLIENTS:-256}"
CONNS="${CONNS:-16}"
KEY_SIZE="${KEY_SIZE:-32}"
VAL_SIZE="${VAL_SIZE:-256}"
TIMEOUT_MS="${TIMEOUT_MS:-30000}"
SERVERS="${SERVERS:-etcd-ts etcd}"
KEY_SPACE="$N"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-million-keys

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

for kind in $SERVERS; do
  start_single "$kind"
  pid="$LAST_PID"
  before="$(rss_kib "$pid")"
  CPU_PIDS="$pid" run_bench "$kind" "put ${N} keys" "$EP" put --sequential-keys --val-size "$VAL_SIZE" \
    --clients "$CLIENTS" --conns "$CONNS" --total "$N" --timeout "$TIMEOUT_MS"
  after="$(rss_kib "$pid")"
  hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")"
  disk="$(du -sk "$WORK/$kind/data" | cut -f1)"
  printf '{"server":"%s","label":"_mem","rssBeforeKiB":%s,"rssAfterKiB":%s,"hwmKiB":%s,"diskKiB":%s}\n' \
    "$kind" "$before" "$after" "$hwm" "$disk" >>"$RESULTS"
  stop_members
done

echo
echo "one member each; $N distinct keys (sequential), key-size=$KEY_SIZE val-size=$VAL_SIZE clients=$CLIENTS conns=$CONNS transport=$TRANSPORT"
node - "$RESULTS" "$N" <<'JS'
const fs = require('node:fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const n = Number(process.argv[3]);
const servers = [...new Set(rows.map((r) => r.server))];
const mib = (k) => (k / 1024).toFixed(0);
const head = ['server', 'time s', 'puts/s', 'p99 ms', 'errors', 'CPU s', 'RSS before MiB', 'RSS end MiB', 'peak RSS MiB', 'data dir MiB', 'RSS B/key'];
const table = servers.map((s) => {
  const b = rows.find((r) => r.server === s && r.summary)?.summary;
  const c = rows.find((r) => r.server === s && r.summary)?.cpuSec;
  const m = rows.find((r) => r.server === s && r.label === '_mem');
  return [s, b?.durationSec.toFixed(1), b?.requestsPerSec, b?.latencyMs.p99.toFixed(1), b?.errors, c?.toFixed(1),
    m && mib(m.rssBeforeKiB), m && mib(m.rssAfterKiB), m && mib(m.hwmKiB), m && mib(m.diskKiB),
    m && (((m.rssAfterKiB - m.rssBeforeKiB) * 1024) / n).toFixed(0)].map((x) => String(x ?? '-'));
});
if (servers.length === 2) {
  const num = (i, j) => Number(table[i][j]);
  table.push(['ours/etcd', ...head.slice(1).map((_, k) => { const a = num(0, k + 1), b = num(1, k + 1); return b ? (a / b).toFixed(2) + 'x' : '-'; })]);
}
const w = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
console.log(fmt(head));
console.log(w.map((x) => '-'.repeat(x)).join('  '));
for (const r of table) console.log(fmt(r));
JS
