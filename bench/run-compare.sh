#!/usr/bin/env bash
# Side-by-side: one single-member etcd-ts, then one single-member etcd (3.4),
# each on free loopback ports in its own temp dir, the same bench runs against
# each (put, then range linearizable and serializable over the keys put wrote),
# peak RSS of the server (VmHWM) and its CPU time. Prints a table at the end.
#
#   bench/run-compare.sh                      # defaults below
#   CLIENTS=32 PUT_TOTAL=50000 bench/run-compare.sh
#   SERVERS=etcd-ts ETCDTS_NODE_OPTS=--cpu-prof bench/run-compare.sh   # profile ours
#
# Environment: SERVERS ("etcd-ts etcd"), CLIENTS (16), CONNS (1), PUT_TOTAL (20000),
# RANGE_TOTAL (20000), TXN_TOTAL (0 = skip), KEY_SIZE (8), VAL_SIZE (256),
# KEY_SPACE (10000), TRANSPORT (h2: the light client; grpc: @grpc/grpc-js), ETCD_BIN (etcd), ETCDTS_NODE_OPTS (extra node flags for
# our server, e.g. --cpu-prof; profiles land in the kept dir), KEEP=1 keeps the
# temp dir (logs, profiles), SKIP_BUILD=1 skips `npm run build`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVERS="${SERVERS:-etcd-ts etcd}"
CLIENTS="${CLIENTS:-16}"
CONNS="${CONNS:-1}"
PUT_TOTAL="${PUT_TOTAL:-20000}"
RANGE_TOTAL="${RANGE_TOTAL:-20000}"
TXN_TOTAL="${TXN_TOTAL:-0}"
KEY_SIZE="${KEY_SIZE:-8}"
VAL_SIZE="${VAL_SIZE:-256}"
KEY_SPACE="${KEY_SPACE:-10000}"
ETCD_BIN="${ETCD_BIN:-etcd}"
TRANSPORT="${TRANSPORT:-h2}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/etcd-ts-compare.XXXXXX")"
SERVER_PID=""

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stop_server
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port in 40000-49999 that nobody accepts on (and not handed out before).
USED_PORTS=" "
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((40000 + RANDOM % 10000))
    [[ "$USED_PORTS" == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      USED_PORTS+="$p "
      echo "$p"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then (cd "$ROOT" && npm run build --silent); fi
BENCH=(node "$ROOT/dist/bench/cli.js")

# start_server NAME -> sets SERVER_PID, CLIENT_PORT
start_server() {
  local kind="$1" dir="$WORK/$1" cport pport
  mkdir -p "$dir"
  cport="$(free_port)"
  pport="$(free_port)"
  local flags=(--name bench --data-dir "$dir/data"
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport"
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport"
    --initial-cluster "bench=http://127.0.0.1:$pport")
  case "$kind" in
    etcd-ts)
      # shellcheck disable=SC2086
      (cd "$dir" && exec "$ROOT/bin/etcd-ts" "${flags[@]}") >"$dir/server.log" 2>&1 &
      ;;
    etcd) "$ETCD_BIN" "${flags[@]}" >"$dir/server.log" 2>&1 & ;;
    *) echo "unknown server $kind" >&2; return 1 ;;
  esac
  SERVER_PID=$!
  CLIENT_PORT="$cport"
  for _ in $(seq 1 150); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "$kind exited during start-up; log:" >&2; tail -20 "$dir/server.log" >&2; return 1
    fi
    if grep -q "ready to serve client requests" "$dir/server.log" 2>/dev/null &&
      etcdctl --endpoints "127.0.0.1:$cport" --command-timeout=2s endpoint health >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "$kind did not become healthy; log:" >&2; tail -20 "$dir/server.log" >&2
  return 1
}

# run_bench KIND LABEL ARGS... : appends {"server","label",...summary,} to results
RESULTS="$WORK/results.jsonl"
run_bench() {
  local kind="$1" label="$2"; shift 2
  echo "== $kind: $label" >&2
  local out
  out="$("${BENCH[@]}" "$@" --endpoints "127.0.0.1:$CLIENT_PORT" --clients "$CLIENTS" --conns "$CONNS" \
    --key-size "$KEY_SIZE" --key-space "$KEY_SPACE" --transport "$TRANSPORT" --no-progress | tail -1)" || true
  if [[ "$out" != \{* ]]; then echo "bench failed ($kind $label)" >&2; return 1; fi
  echo "$out" >&2
  printf '{"server":"%s","label":"%s","summary":%s}\n' "$kind" "$label" "$out" >>"$RESULTS"
}

for kind in $SERVERS; do
  start_server "$kind"
  run_bench "$kind" put put --total "$PUT_TOTAL" --val-size "$VAL_SIZE"
  run_bench "$kind" "range l" range --total "$RANGE_TOTAL" --consistency l
  run_bench "$kind" "range s" range --total "$RANGE_TOTAL" --consistency s
  if [[ "$TXN_TOTAL" != 0 ]]; then run_bench "$kind" txn txn --total "$TXN_TOTAL" --val-size "$VAL_SIZE"; fi
  hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status")"
  # utime + stime, clock ticks -> seconds
  cpu="$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$SERVER_PID/stat")"
  printf '{"server":"%s","label":"_proc","hwmKiB":%s,"cpuSec":%s}\n' "$kind" "$hwm" "$cpu" >>"$RESULTS"
  stop_server
done

echo
echo "transport=$TRANSPORT clients=$CLIENTS conns=$CONNS key-size=$KEY_SIZE val-size=$VAL_SIZE key-space=$KEY_SPACE put-total=$PUT_TOTAL range-total=$RANGE_TOTAL"
node - "$RESULTS" <<'JS'
const fs = require('node:fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const servers = [...new Set(rows.map((r) => r.server))];
const labels = [...new Set(rows.filter((r) => r.label !== '_proc').map((r) => r.label))];
const get = (s, l) => rows.find((r) => r.server === s && r.label === l);
const cols = ['metric', ...servers];
if (servers.length === 2) cols.push(`${servers[0]}/${servers[1]}`);
const table = [];
const add = (name, vals) => {
  const row = [name, ...vals.map((v) => (v === undefined ? '-' : String(v)))];
  if (servers.length === 2) row.push(vals[0] !== undefined && vals[1] ? (vals[0] / vals[1]).toFixed(2) + 'x' : '-');
  table.push(row);
};
for (const l of labels) {
  const s = servers.map((sv) => get(sv, l)?.summary);
  add(`${l} req/s`, s.map((x) => x?.requestsPerSec));
  add(`${l} p50 ms`, s.map((x) => x?.latencyMs.p50));
  add(`${l} p99 ms`, s.map((x) => x?.latencyMs.p99));
  const errs = s.map((x) => x?.errors ?? 0);
  if (errs.some((e) => e)) add(`${l} errors`, errs);
}
add('peak RSS MiB', servers.map((sv) => (get(sv, '_proc') ? Math.round(get(sv, '_proc').hwmKiB / 1024) : undefined)));
add('server CPU s', servers.map((sv) => get(sv, '_proc')?.cpuSec));
const w = cols.map((c, i) => Math.max(c.length, ...table.map((r) => r[i].length)));
const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
console.log(fmt(cols));
console.log(w.map((n) => '-'.repeat(n)).join('  '));
for (const r of table) console.log(fmt(r));
JS
