#!/usr/bin/env bash
# `etcdctl check perf` against a 3-member cluster of ours and one of etcd 3.4
# (issue #12: it must pass against ours whenever it passes against etcd's). For
# each load (LOADS, default "s m"), each server in turn gets a fresh cluster
# (bench/lib.sh start_cluster), then etcdctl's own 60 s test given every
# endpoint; the clusters never run at the same time. Prints etcdctl's verdict
# lines (throughput, slowest request, stddev, PASS/FAIL) per server and load,
# and exits 1 if a load passed against etcd and failed against ours.
#
#   npm run bench -- check-perf          # = bench/run-check-perf.sh
#   LOADS=s bench/run-check-perf.sh
#
# Environment: LOADS ("s m"), SERVERS ("etcd-ts etcd"), ETCD_BIN, KEEP=1,
# SKIP_BUILD=1, PORT_LO/PORT_HI (see bench/lib.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
read -r -a LOADS <<<"${LOADS:-s m}"
read -r -a SERVERS <<<"${SERVERS:-etcd-ts etcd}"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-check-perf

declare -A VERDICT
for load in "${LOADS[@]}"; do
  for kind in "${SERVERS[@]}"; do
    rm -rf "${WORK:?}/$kind"
    start_cluster "$kind"
    eps="$(IFS=,; echo "${ENDPOINTS[*]}")"
    echo "== $kind: etcdctl check perf --load=$load" >&2
    out="$WORK/check-$kind-$load.txt"
    # etcdctl exits non-zero on FAIL; its verdict is in its output either way.
    ETCDCTL_API=3 etcdctl --endpoints "$eps" check perf --load="$load" >"$out" 2>&1 || true
    # The progress bar redraws with carriage returns, and a verdict line may follow
    # its last frame on the same line: keep only the verdicts.
    tr '\r' '\n' <"$out" | grep -oE '(PASS|FAIL)(:.*)?$|Error.*$' >"$out.verdicts" || true
    sed "s/^/  $kind --load=$load: /" "$out.verdicts"
    # etcdctl's last verdict is its summary: PASS only if every check passed.
    if [[ "$(tail -1 "$out.verdicts")" == PASS ]]; then VERDICT[$kind/$load]=PASS; else VERDICT[$kind/$load]=FAIL; fi
    stop_members
  done
done

status=0
for load in "${LOADS[@]}"; do
  line="--load=$load:"
  for kind in "${SERVERS[@]}"; do line+=" $kind ${VERDICT[$kind/$load]}"; done
  echo "$line"
  if [[ "${#SERVERS[@]}" == 2 && "${VERDICT[${SERVERS[1]}/$load]}" == PASS && "${VERDICT[${SERVERS[0]}/$load]}" != PASS ]]; then status=1; fi
done
exit "$status"
