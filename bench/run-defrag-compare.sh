#!/usr/bin/env bash
# Write latency during a defragment, one member of ours, then one of etcd (3.4),
# side by side (issue #11: "Defragment must not block reads, writes or watches").
#
# For each server: build history (HISTORY_MB MiB of puts of VAL_SIZE-byte values
# over a key space of HIST_KEYS keys, 64 clients), `etcdctl compaction <rev>` so
# the defragment has garbage to drop, db size; then
#   baseline: a steady put load (LOAD_CLIENTS clients, LOAD_TOTAL puts), no defrag;
#   defrag:   the same load, and DEFRAG_DELAY seconds into it `etcdctl defrag`
#             (timed); db size after.
# Each load writes every request's start time and latency (--latency-log), so
# besides the whole load's p99/max the table shows p99/max of the puts that were
# in flight while the defrag ran (started before it ended, finished after it
# began), and as a reference the same for the baseline's window of the same
# offset from its first request and the same length.
#
#   bench/run-defrag-compare.sh
#   HISTORY_MB=1024 bench/run-defrag-compare.sh   # the issue's 1 GiB of history
#   SERVERS=etcd-ts KEEP=1 bench/run-defrag-compare.sh
#
# Environment: SERVERS ("etcd-ts etcd"), HISTORY_MB (256), HIST_KEYS (1000),
# VAL_SIZE (4096), LOAD_CLIENTS (16), LOAD_TOTAL (60000), LOAD_VAL_SIZE (256),
# LOAD_KEYS (10000, under prefix "l/"), DEFRAG_DELAY (2 s), DEFRAG_TIMEOUT (600 s, also
# for the physical compaction, which on ours takes over 5 s at 1 GiB),
# QUOTA_BYTES (8 GiB: --quota-backend-bytes, so the history does not raise NOSPACE),
# TRANSPORT (h2), ETCD_BIN (etcd), KEEP=1 keeps the temp dir, SKIP_BUILD=1,
# WARMUP_TOTAL (10000 puts before anything, not recorded; 0 = off).
# Not part of the test suite: it takes minutes and measures the machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

SERVERS="${SERVERS:-etcd-ts etcd}"
HISTORY_MB="${HISTORY_MB:-256}"
HIST_KEYS="${HIST_KEYS:-1000}"
VAL_SIZE="${VAL_SIZE:-4096}"
LOAD_CLIENTS="${LOAD_CLIENTS:-16}"
LOAD_TOTAL="${LOAD_TOTAL:-60000}"
LOAD_VAL_SIZE="${LOAD_VAL_SIZE:-256}"
LOAD_KEYS="${LOAD_KEYS:-10000}"
DEFRAG_DELAY="${DEFRAG_DELAY:-2}"
DEFRAG_TIMEOUT="${DEFRAG_TIMEOUT:-600}"
QUOTA_BYTES="${QUOTA_BYTES:-8589934592}"
# lib.sh's warm_up and run_bench pass these.
KEY_SIZE=16
KEY_SPACE="$HIST_KEYS"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-defrag

HIST_TOTAL=$(( HISTORY_MB * 1024 * 1024 / VAL_SIZE ))
now_ms() { date +%s%3N; }

# db_size EP: dbSize of `etcdctl endpoint status` in bytes.
db_size() {
  etcdctl --endpoints "$1" endpoint status -w json |
    node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].Status.dbSize))'
}
# revision EP: the store's current revision.
revision() {
  etcdctl --endpoints "$1" endpoint status -w json |
    node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].Status.header.revision))'
}
# record KIND LABEL JSON: one results row.
record() { printf '{"server":"%s","label":"%s",%s}\n' "$1" "$2" "$3" >>"$RESULTS"; }

# put_load KIND LABEL EP LOGFILE: the steady load, in the background (BENCH_PID).
put_load() {
  local kind="$1" label="$2" ep="$3" log="$4"
  echo "== $kind: $label load ($LOAD_TOTAL puts, $LOAD_CLIENTS clients)" >&2
  "${BENCH[@]}" put --endpoints "$ep" --clients "$LOAD_CLIENTS" --total "$LOAD_TOTAL" \
    --key-size "$KEY_SIZE" --key-space "$LOAD_KEYS" --prefix l/ --val-size "$LOAD_VAL_SIZE" \
    --transport "$TRANSPORT" --latency-log "$log" --no-progress \
    >"$WORK/$kind-$label.out" 2>"$WORK/$kind-$label.err" &
  BENCH_PID=$!
}
# finish_load KIND LABEL: waits for the load, records its summary.
finish_load() {
  local kind="$1" label="$2" out
  wait "$BENCH_PID" || true
  BENCH_PID=""
  out="$(tail -1 "$WORK/$kind-$label.out")"
  if [[ "$out" != \{* ]]; then tail -5 "$WORK/$kind-$label.err" >&2; echo "load failed ($kind $label)" >&2; return 1; fi
  echo "$out" >&2
  record "$kind" "$label" "\"summary\":$out"
}

for kind in $SERVERS; do
  alloc_port; cport="$PORT"
  alloc_port; pport="$PORT"
  start_member "$kind" "$WORK/$kind" --name bench --data-dir "$WORK/$kind/data" \
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "bench=http://127.0.0.1:$pport" --quota-backend-bytes "$QUOTA_BYTES"
  wait_healthy "$kind" 30 "127.0.0.1:$cport"
  ep="127.0.0.1:$cport"
  warm_up "$kind" "$ep" put

  echo "== $kind: history: $HIST_TOTAL puts of $VAL_SIZE B over $HIST_KEYS keys (~$HISTORY_MB MiB)" >&2
  t0=$(now_ms)
  run_bench "$kind" _history "$ep" put --clients 64 --conns 4 --total "$HIST_TOTAL" --val-size "$VAL_SIZE"
  hist_sec=$(( ($(now_ms) - t0) / 1000 ))
  rev="$(revision "$ep")"
  size_hist="$(db_size "$ep")"
  etcdctl --endpoints "$ep" --command-timeout="${DEFRAG_TIMEOUT}s" compaction --physical "$rev" >/dev/null
  size_before="$(db_size "$ep")"
  echo "== $kind: revision $rev, db $size_hist B after history ($hist_sec s), $size_before B after compaction" >&2

  put_load "$kind" baseline "$ep" "$WORK/$kind-baseline.lat"
  finish_load "$kind" baseline

  put_load "$kind" defrag "$ep" "$WORK/$kind-defrag.lat"
  sleep "$DEFRAG_DELAY"
  echo "== $kind: defrag" >&2
  d0=$(now_ms)
  defrag_ok=true
  etcdctl --endpoints "$ep" --command-timeout="${DEFRAG_TIMEOUT}s" defrag >"$WORK/$kind-defrag.etcdctl" 2>&1 || defrag_ok=false
  d1=$(now_ms)
  cat "$WORK/$kind-defrag.etcdctl" >&2
  if ! kill -0 "$BENCH_PID" 2>/dev/null; then
    echo "warning: the $kind load finished before the defrag did: raise LOAD_TOTAL" >&2
  fi
  finish_load "$kind" defrag
  size_after="$(db_size "$ep")"
  record "$kind" _defrag "\"ok\":$defrag_ok,\"startMs\":$d0,\"endMs\":$d1,\"rev\":$rev,\"histSec\":$hist_sec,\"sizeHist\":$size_hist,\"sizeBefore\":$size_before,\"sizeAfter\":$size_after,\"lat\":\"$WORK/$kind-defrag.lat\",\"baseLat\":\"$WORK/$kind-baseline.lat\""
  record_proc "$kind" bench "$LAST_PID"
  stop_members
done

echo
echo "transport=$TRANSPORT history=${HISTORY_MB}MiB ($HIST_TOTAL puts of ${VAL_SIZE}B over $HIST_KEYS keys) load=$LOAD_TOTAL puts of ${LOAD_VAL_SIZE}B, $LOAD_CLIENTS clients; defrag ${DEFRAG_DELAY}s into the load"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the box skews every number)"
node - "$RESULTS" <<'JS'
const fs = require('node:fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const servers = [...new Set(rows.map((r) => r.server))];
const get = (s, l) => rows.find((r) => r.server === s && r.label === l);
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] : NaN);
// Latencies of the requests in flight during [from, to] (ms since the epoch):
// started before `to` and finished after `from`.
const readLog = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => line.split(' ').map(Number));
const windowed = (log, from, to) => log.filter(([s, l]) => s <= to && s + l >= from).map(([, l]) => l).sort((a, b) => a - b);
const firstStart = (log) => log.reduce((m, [s]) => Math.min(m, s), Infinity);
const mib = (b) => (b === undefined ? undefined : (b / 1048576).toFixed(1));
const f1 = (x) => (x === undefined || Number.isNaN(x) ? undefined : Math.round(x * 10) / 10);
const table = [];
const add = (name, vals, ratio = true) => {
  const row = [name, ...vals.map((v) => (v === undefined ? '-' : String(v)))];
  if (servers.length === 2) row.push(ratio && vals[0] !== undefined && vals[1] ? (vals[0] / vals[1]).toFixed(2) + 'x' : '-');
  table.push(row);
};
const d = servers.map((s) => get(s, '_defrag'));
add('history put req/s', servers.map((s) => get(s, '_history')?.summary.requestsPerSec));
add('db MiB after history', d.map((x) => mib(x?.sizeHist)));
add('db MiB after compaction', d.map((x) => mib(x?.sizeBefore)));
add('db MiB after defrag', d.map((x) => mib(x?.sizeAfter)));
add('defrag s', d.map((x) => (x ? (x.ok ? '' : 'FAILED ') + ((x.endMs - x.startMs) / 1000).toFixed(2) : undefined)), false);
for (const l of ['baseline', 'defrag']) {
  const s = servers.map((sv) => get(sv, l)?.summary);
  add(`${l} put req/s`, s.map((x) => x?.requestsPerSec));
  add(`${l} put p50 ms`, s.map((x) => x?.latencyMs.p50));
  add(`${l} put p99 ms`, s.map((x) => x?.latencyMs.p99));
  add(`${l} put max ms`, s.map((x) => x?.latencyMs.slowest));
  const errs = s.map((x) => x?.errors ?? 0);
  if (errs.some((e) => e)) add(`${l} errors`, errs);
}
// The defrag window, and the baseline's window at the same offset into its load.
const win = d.map((x) => (x ? windowed(readLog(x.lat), x.startMs, x.endMs) : []));
const bwin = d.map((x) => {
  if (!x) return [];
  const log = readLog(x.lat), base = readLog(x.baseLat);
  const off = firstStart(base) - firstStart(log);
  return windowed(base, x.startMs + off, x.endMs + off);
});
const secs = d.map((x) => (x ? (x.endMs - x.startMs) / 1000 : undefined));
add('puts during defrag', win.map((w) => w.length));
add('  per second', win.map((w, i) => (secs[i] ? Math.round(w.length / secs[i]) : undefined)));
add('  their p99 ms', win.map((w) => f1(pct(w, 99))));
add('  their max ms', win.map((w) => f1(w[w.length - 1])));
add('baseline, same window: puts/s', bwin.map((w, i) => (secs[i] ? Math.round(w.length / secs[i]) : undefined)));
add('  p99 ms', bwin.map((w) => f1(pct(w, 99))));
add('  max ms', bwin.map((w) => f1(w[w.length - 1])));
const procs = servers.map((s) => get(s, '_proc'));
add('peak RSS MiB', procs.map((p) => (p ? Math.round(p.hwmKiB / 1024) : undefined)));
add('server CPU s', procs.map((p) => p?.cpuSec));
const cols = ['metric', ...servers];
if (servers.length === 2) cols.push(`${servers[0]}/${servers[1]}`);
const w = cols.map((c, i) => Math.max(c.length, ...table.map((r) => r[i].length)));
const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
console.log(fmt(cols));
console.log(w.map((n) => '-'.repeat(n)).join('  '));
for (const r of table) console.log(fmt(r));
JS
