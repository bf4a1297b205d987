#!/usr/bin/env bash
# Side-by-side: one single-member etcd-ts, then one single-member etcd (3.4),
# each on free loopback ports in its own temp dir, the same bench runs against
# each (put, then range linearizable and serializable over the keys put wrote),
# peak RSS of the server (VmHWM) and its CPU time. Prints a table at the end.
#
#   bench/run-compare.sh                      # defaults below
#   CLIENTS=32 PUT_TOTAL=50000 bench/run-compare.sh
#   SERVERS=etcd-ts ETCDTS_NODE_OPTS=--cpu-prof bench/run-compare.sh   # profile ours
#   CLUSTER=3 bench/run-compare.sh            # 3-member clusters: bench/run-cluster-compare.sh
#
# Environment: SERVERS ("etcd-ts etcd"), CLIENTS (16), CONNS (1), PUT_TOTAL (20000),
# RANGE_TOTAL (20000), TXN_TOTAL (0 = skip), KEY_SIZE (8), VAL_SIZE (256),
# KEY_SPACE (10000), TRANSPORT (h2: the light client; grpc: @grpc/grpc-js), ETCD_BIN (etcd), ETCDTS_NODE_OPTS (extra node flags for
# our server, e.g. --cpu-prof; profiles land in the kept dir), KEEP=1 keeps the
# temp dir (logs, profiles), SKIP_BUILD=1 skips `npm run build`, WARMUP_TOTAL
# (10000 requests of each workload before measuring, not recorded; 0 = off).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${CLUSTER:-}" && "${CLUSTER}" != 1 ]]; then
  exec bash "$ROOT/bench/run-cluster-compare.sh" "$@"
fi

SERVERS="${SERVERS:-etcd-ts etcd}"
CLIENTS="${CLIENTS:-16}"
CONNS="${CONNS:-1}"
PUT_TOTAL="${PUT_TOTAL:-20000}"
RANGE_TOTAL="${RANGE_TOTAL:-20000}"
TXN_TOTAL="${TXN_TOTAL:-0}"
KEY_SIZE="${KEY_SIZE:-8}"
VAL_SIZE="${VAL_SIZE:-256}"
KEY_SPACE="${KEY_SPACE:-10000}"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-compare

for kind in $SERVERS; do
  start_single "$kind"
  ep="$EP"
  common=(--clients "$CLIENTS" --conns "$CONNS")
  warm_up "$kind" "$ep" put range-l range-s $([[ "$TXN_TOTAL" != 0 ]] && echo txn)
  run_bench "$kind" put "$ep" put "${common[@]}" --total "$PUT_TOTAL" --val-size "$VAL_SIZE"
  run_bench "$kind" "range l" "$ep" range "${common[@]}" --total "$RANGE_TOTAL" --consistency l
  run_bench "$kind" "range s" "$ep" range "${common[@]}" --total "$RANGE_TOTAL" --consistency s
  if [[ "$TXN_TOTAL" != 0 ]]; then run_bench "$kind" txn "$ep" txn "${common[@]}" --total "$TXN_TOTAL" --val-size "$VAL_SIZE"; fi
  record_proc "$kind" bench "$LAST_PID"
  stop_members
done

echo
echo "transport=$TRANSPORT clients=$CLIENTS conns=$CONNS key-size=$KEY_SIZE val-size=$VAL_SIZE key-space=$KEY_SPACE put-total=$PUT_TOTAL range-total=$RANGE_TOTAL"
print_table
