#!/usr/bin/env bash
# One etcd-ts member's put throughput pinned to CPUS (taskset -c), for issue #12:
#   CPUS=0 GEN_CPUS=1 bench/cores.sh ; CPUS=0,1 GEN_CPUS=1 bench/cores.sh
# Warm-up WARMUP_TOTAL puts (16 clients), then TOTAL puts with each of CLIENT_COUNTS;
# prints req/s, p99 and the member's CPU µs per request (main thread and others).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CPUS="${CPUS:-0}"; GEN_CPUS="${GEN_CPUS:-1}"
CLIENT_COUNTS="${CLIENT_COUNTS:-16 256}"; TOTAL="${TOTAL:-20000}"; WARMUP_TOTAL="${WARMUP_TOTAL:-10000}"
SERVER="${SERVER:-etcd-ts}"
source "$ROOT/bench/lib.sh"
SKIP_BUILD=1 bench_init etcd-ts-cores
alloc_port; c="$PORT"; alloc_port; p="$PORT"
dir="$WORK/$SERVER"; mkdir -p "$dir"
if [[ "$SERVER" == etcd ]]; then bin=("$ETCD_BIN"); else bin=("$ROOT/bin/etcd-ts"); fi
(cd "$dir" && exec taskset -c "$CPUS" "${bin[@]}" --name a --data-dir "$dir/data" \
  --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
  --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
  --initial-cluster "a=http://127.0.0.1:$p") >"$dir/server.log" 2>&1 &
pid=$!; MEMBER_PIDS+=("$pid")
wait_healthy "$SERVER" 60 "127.0.0.1:$c"
gen() { taskset -c "$GEN_CPUS" node "$ROOT/dist/bench/cli.js" put --endpoints "127.0.0.1:$c" --val-size 256 --key-space 10000 --transport h2 --no-progress "$@"; }
cpu() { # main thread, whole process (seconds)
  local hz; hz="$(getconf CLK_TCK)"
  echo "$(awk -v hz="$hz" '{printf "%.3f", ($14+$15)/hz}' /proc/$pid/task/$pid/stat) $(awk -v hz="$hz" '{printf "%.3f", ($14+$15)/hz}' /proc/$pid/stat)"
}
gen --total "$WARMUP_TOTAL" --clients 16 --conns 4 >/dev/null 2>&1
for n in $CLIENT_COUNTS; do
  read -r m0 t0 < <(cpu)
  out="$(gen --total "$TOTAL" --clients "$n" --conns "$((n < 16 ? n : 16))" 2>/dev/null | tail -1)"
  read -r m1 t1 < <(cpu)
  node -e '
    const [o, n, cpus, m0, t0, m1, t1, total] = process.argv.slice(1);
    const s = JSON.parse(o);
    const us = (a, b) => ((b - a) * 1e6 / total).toFixed(0);
    console.log(`'"$SERVER"' cpus=${cpus} clients=${n}: ${s.requestsPerSec} req/s p99 ${s.latencyMs.p99} ms; CPU ${us(t0, t1)} µs/req (JS main thread ${us(m0, m1)}, other threads ${((t1 - t0 - (m1 - m0)) * 1e6 / total).toFixed(0)})`);
  ' "$out" "$n" "$CPUS" "$m0" "$t0" "$m1" "$t1" "$TOTAL"
done
