#!/usr/bin/env bash
# Side-by-side on 3-member clusters: a cluster of etcd-ts, then (after it is
# stopped) a cluster of etcd 3.4, never both at once. Each cluster runs on free
# loopback ports (46000-49999) in its own temp dir, started with etcd's flags
# (--initial-cluster a=…,b=…,c=…, --initial-cluster-token, --initial-cluster-state
# new); once `etcdctl endpoint health` passes on all three endpoints, the same
# bench runs against each: put, txn, range linearizable, range serializable, each
# with 1, 16 and 256 clients, every endpoint given so clients spread over the
# members. Records throughput and p99 per run and each member's peak RSS
# (VmHWM) and CPU time; prints a table (etcd-ts, etcd, ratio) at the end.
#
#   bench/run-cluster-compare.sh              # or: CLUSTER=3 bench/run-compare.sh
#   CLIENT_COUNTS="16 256" PUT_TOTAL=50000 bench/run-cluster-compare.sh
#   SERVERS=etcd-ts KEEP=1 bench/run-cluster-compare.sh   # ours only, keep logs
#
# Environment: SERVERS ("etcd-ts etcd"), CLIENT_COUNTS ("1 16 256"),
# WORKLOADS ("put txn range-l range-s"), PUT_TOTAL (10000), TXN_TOTAL (5000),
# RANGE_TOTAL (10000), ONE_CLIENT_TOTAL (2000: cap on every total with 1 client),
# CONNS_PER_RUN ("1:1 16:3 256:16": gRPC connections per client count, spread
# round-robin over the endpoints; other counts get min(clients, 16)),
# LEADER_FIRST (1: the leader's endpoint is listed first, so the 1-client runs and
# the first connection go to the leader in both clusters; 0: a,b,c order),
# KEY_SIZE (8), VAL_SIZE (256), KEY_SPACE (10000), TIMEOUT_MS (10000, per request),
# TRANSPORT (h2 | grpc), ETCD_BIN (etcd), ETCDTS_NODE_OPTS, KEEP=1, SKIP_BUILD=1,
# WARMUP_TOTAL (10000 requests of each workload, 16 clients, not recorded; 0 = off).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVERS="${SERVERS:-etcd-ts etcd}"
CLIENT_COUNTS="${CLIENT_COUNTS:-1 16 256}"
WORKLOADS="${WORKLOADS:-put txn range-l range-s}"
PUT_TOTAL="${PUT_TOTAL:-10000}"
TXN_TOTAL="${TXN_TOTAL:-5000}"
RANGE_TOTAL="${RANGE_TOTAL:-10000}"
ONE_CLIENT_TOTAL="${ONE_CLIENT_TOTAL:-2000}"
CONNS_PER_RUN="${CONNS_PER_RUN:-1:1 16:3 256:16}"
LEADER_FIRST="${LEADER_FIRST:-1}"
KEY_SIZE="${KEY_SIZE:-8}"
VAL_SIZE="${VAL_SIZE:-256}"
KEY_SPACE="${KEY_SPACE:-10000}"
TIMEOUT_MS="${TIMEOUT_MS:-10000}"
PORT_LO="${PORT_LO:-46000}"
PORT_HI="${PORT_HI:-49999}"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-cluster-compare

for kind in $SERVERS; do
  start_cluster "$kind"
  cluster_endpoints "$kind"
  eplist="$EPLIST"

  warm_up "$kind" "$eplist" $WORKLOADS
  for w in $WORKLOADS; do
    for c in $CLIENT_COUNTS; do
      case "$w" in
        put) total="$PUT_TOTAL"; args=(put --val-size "$VAL_SIZE") ;;
        txn) total="$TXN_TOTAL"; args=(txn --val-size "$VAL_SIZE") ;;
        range-l) total="$RANGE_TOTAL"; args=(range --consistency l) ;;
        range-s) total="$RANGE_TOTAL"; args=(range --consistency s) ;;
        *) echo "unknown workload $w" >&2; exit 2 ;;
      esac
      if [[ "$c" == 1 && "$total" -gt "$ONE_CLIENT_TOTAL" ]]; then total="$ONE_CLIENT_TOTAL"; fi
      run_bench "$kind" "${w/-/ } ${c}c" "$eplist" "${args[@]}" --total "$total" \
        --clients "$c" --conns "$(conns_for "$c")" --timeout "$TIMEOUT_MS"
    done
  done

  for i in 0 1 2; do record_proc "$kind" "${MEMBER_NAMES[$i]}" "${MEMBER_PIDS[$i]}"; done
  stop_members
done

echo
echo "3-member clusters; transport=$TRANSPORT clients=[$CLIENT_COUNTS] conns=[$CONNS_PER_RUN] key-size=$KEY_SIZE val-size=$VAL_SIZE key-space=$KEY_SPACE"
echo "totals: put=$PUT_TOTAL txn=$TXN_TOTAL range=$RANGE_TOTAL (1 client: at most $ONE_CLIENT_TOTAL); leader first: $LEADER_FIRST;" \
  "leaders: $(node -e 'const rows=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").map(JSON.parse);console.log(rows.filter(r=>r.label==="_leader").map(r=>r.server+"="+r.member).join(" "))' "$RESULTS")"
TABLE_METRICS="${TABLE_METRICS:-req/s p99}" print_table
