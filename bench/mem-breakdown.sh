#!/usr/bin/env bash
# Where a member's memory goes per key (issue #12): one member of ours
# (--enable-pprof), N distinct keys put once each (32 B keys, 256 B values, 256
# clients, as bench/run-million-keys.sh), then: RSS, V8 heap used/total,
# external and array-buffer memory (from /metrics), a heap snapshot summarised
# by object type (bench/heap-summary.cjs), and the same figures per key.
#
#   N=200000 bench/mem-breakdown.sh        # HEAP=0 skips the heap snapshot
#
# Environment: N (200000), CLIENTS (256), CONNS (16), KEY_SIZE (32), VAL_SIZE (256),
# HEAP (1), KEEP=1, SKIP_BUILD=1, ETCDTS_NODE_OPTS (extra node flags for the member).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-200000}"
CLIENTS="${CLIENTS:-256}"
CONNS="${CONNS:-16}"
KEY_SIZE="${KEY_SIZE:-32}"
VAL_SIZE="${VAL_SIZE:-256}"
KEY_SPACE="$N"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-mem-breakdown

metric() { curl -s "http://$EP/metrics" | awk -v m="$1" '$1 == m {printf "%.0f", $2}'; }
report() {
  local label="$1" rss heap total ext ab
  rss="$(awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$pid/status")"
  heap="$(metric nodejs_heap_size_used_bytes)"; total="$(metric nodejs_heap_size_total_bytes)"
  ext="$(metric nodejs_external_memory_bytes)"
  printf '%-14s RSS %6.1f MiB  heap used %6.1f MiB  heap total %6.1f MiB  external %6.1f MiB\n' "$label" >&2 \
    "$(bc -l <<<"$rss/1048576")" "$(bc -l <<<"$heap/1048576")" "$(bc -l <<<"$total/1048576")" "$(bc -l <<<"$ext/1048576")"
  echo "$rss $heap $total $ext"
}

start_single etcd-ts --enable-pprof
pid="$LAST_PID"
read -r rss0 heap0 total0 ext0 < <(report "before")
run_bench etcd-ts "put ${N} keys" "$EP" put --sequential-keys --val-size "$VAL_SIZE" \
  --clients "$CLIENTS" --conns "$CONNS" --total "$N" --timeout 30000
sleep 2
read -r rss1 heap1 total1 ext1 < <(report "after load")
awk -v n="$N" -v r0="$rss0" -v r1="$rss1" -v h0="$heap0" -v h1="$heap1" -v t0="$total0" -v t1="$total1" -v e0="$ext0" -v e1="$ext1" \
  'BEGIN { printf "per key: RSS %.0f B, heap used %.0f B, heap total %.0f B, external %.0f B, RSS outside the V8 heap %.0f B\n",
    (r1-r0)/n, (h1-h0)/n, (t1-t0)/n, (e1-e0)/n, ((r1-t1)-(r0-t0))/n }'
if [[ "${HEAP:-1}" == 1 ]]; then
  curl -s -o "$WORK/heap.heapsnapshot" "http://$EP/debug/pprof/heap"
  node --max-old-space-size=6144 "$ROOT/bench/heap-summary.cjs" "$WORK/heap.heapsnapshot" --keys "$N" --top "${TOP:-25}"
  rm -f "$WORK/heap.heapsnapshot"
fi
grep -E '^(nodejs_heap_space_size_used_bytes|process_resident)' <(curl -s "http://$EP/metrics") || true
