#!/usr/bin/env bash
# CPU profiles of a 3-member etcd-ts cluster under put load (issue #12), and the
# same load against a 3-member etcd for its CPU seconds. For each server kind:
# start the cluster, WARMUP_TOTAL puts (16 clients, not measured), then the
# measured window: PROF_TOTAL puts with PROF_CLIENTS clients over every endpoint
# (leader first). For etcd-ts each member runs with bench/cpu-prof-toggle.cjs
# preloaded; SIGUSR2 starts and stops its V8 CPU profiler around the window
# (cpu-<pid>.cpuprofile in $WORK/prof). Each member's CPU (utime+stime, and per
# thread name: JS main thread, libuv threadpool, V8 GC helpers...) and the time
# those threads waited for a CPU (schedstat) are read from /proc before and after
# the window, its peak RSS (VmHWM) at the end. Output: $WORK/window.jsonl, plus the
# summary of each profile (bench/profile-summary.ts).
#
#   KEEP=1 bench/profile-cluster.sh             # keeps $WORK (logs, profiles)
#   SERVERS=etcd-ts PROF_TOTAL=20000 KEEP=1 bench/profile-cluster.sh
#   SERVERS=etcd-ts PROFILE=0 bench/profile-cluster.sh   # CPU per request only, no profiler
#   PROF_WORKLOAD=lease-keepalive bench/profile-cluster.sh  # keep-alives (1000 leases, 4 streams)
#   PROF_WORKLOAD=lease PROF_TOTAL=5000 bench/profile-cluster.sh  # grants, then revokes
#
# PROF_VIA=follower sends the measured window's requests to a follower only (run-table's
# put1f: PROF_CLIENTS=1 PROF_CONNS=1 PROF_VIA=follower). With PROF_CLIENTS=1 the warm-up
# also runs the table's 1-client warm-ups (lib.sh's put1 and put1f) after the batched one.
# PROF_BESIDE="command" runs beside the measured window only (started with it, stopped
# after it, by PID: start it with exec; output in $WORK/beside-<server>.out), e.g.
# PROF_BESIDE="exec python3 bench/wake-probe.py 600 --stalls" for the machine's stalls
# (stage-timeline.cjs --probe).
# PROF_PACE=N paces the measured puts at N a second (a write to an idle cluster:
# PROF_CLIENTS=1 PROF_CONNS=1 PROF_PACE=50 PROF_TOTAL=1000 is run-table's put1p).
# PROF_WORKLOAD: put (default), lease-keepalive (PROF_TOTAL keep-alives of
# KA_LEASES leases over 4 streams, as run-table's keepalive16; the window's CPU
# includes the grant and revoke of those leases), or lease (PROF_TOTAL grants then
# as many revokes; CPU per request divides by both).
#   SERVERS=etcd-ts PROFILE=heap KEEP=1 bench/profile-cluster.sh   # allocation profiles instead
#     (cpu-prof-toggle.cjs with ETCDTS_PROF_KIND=heap: heap-<pid>.heapprofile, every byte
#     allocated in the window; summarise with node bench/heap-alloc-summary.cjs FILE --requests N)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVERS="${SERVERS:-etcd-ts etcd}"
WARMUP_TOTAL="${WARMUP_TOTAL:-10000}"
PROF_TOTAL="${PROF_TOTAL:-20000}"
PROF_CLIENTS="${PROF_CLIENTS:-16}"
PROF_CONNS="${PROF_CONNS:-3}"
PROF_WORKLOAD="${PROF_WORKLOAD:-put}"
KA_LEASES="${KA_LEASES:-1000}"
KEY_SIZE="${KEY_SIZE:-8}"
VAL_SIZE="${VAL_SIZE:-256}"
KEY_SPACE="${KEY_SPACE:-10000}"
PORT_LO="${PORT_LO:-46000}"
PORT_HI="${PORT_HI:-49999}"
NAMES=(a b c)
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-profile
PROF_DIR="$WORK/prof"
mkdir -p "$PROF_DIR"

start_cluster() {
  local kind="$1" n cports=() pports=() initial="" i
  for n in "${NAMES[@]}"; do alloc_port; cports+=("$PORT"); alloc_port; pports+=("$PORT"); done
  for i in 0 1 2; do initial+="${initial:+,}${NAMES[$i]}=http://127.0.0.1:${pports[$i]}"; done
  ENDPOINTS=(); MEMBER_NAMES=()
  for i in 0 1 2; do
    n="${NAMES[$i]}"
    start_member "$kind" "$WORK/$kind/$n" --name "$n" --data-dir "$WORK/$kind/$n/data" \
      --listen-client-urls "http://127.0.0.1:${cports[$i]}" --advertise-client-urls "http://127.0.0.1:${cports[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${pports[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${pports[$i]}" \
      --initial-cluster "$initial" --initial-cluster-token "prof-$kind-$$" --initial-cluster-state new
    ENDPOINTS+=("127.0.0.1:${cports[$i]}"); MEMBER_NAMES+=("$n")
  done
  wait_healthy "$kind" 60 "${ENDPOINTS[@]}"
}
leader_endpoint() {
  etcdctl --endpoints "$(IFS=,; echo "${ENDPOINTS[*]}")" --command-timeout=3s endpoint status -w simple 2>/dev/null |
    awk -F', ' '$5 == "true" {print $1; exit}'
}
# cpu_json PID: {"total":s,"threads":{"name":s,...},"waits":{"name":s,...}} from /proc
# (seconds): CPU time per thread name, and the time those threads spent runnable
# but waiting for a CPU (schedstat's run_delay).
cpu_json() {
  local pid="$1" hz; hz="$(getconf CLK_TCK)"
  {
    for t in /proc/"$pid"/task/*; do
      [[ -r "$t/stat" ]] || continue
      # comm may contain spaces; it is between the parentheses. The wait (ns) goes last.
      if [[ "${t##*/}" == "$pid" ]]; then sed -E 's/^[0-9]+ \((.*)\) (.*)$/main\t\2/' "$t/stat"
      else sed -E 's/^[0-9]+ \((.*)\) (.*)$/\1\t\2/' "$t/stat"; fi | tr -d '\n'
      printf '\t%s\n' "$(awk '{print $2}' "$t/schedstat" 2>/dev/null || echo 0)"
    done
  } | awk -F'\t' -v hz="$hz" -v total="$(awk -v hz="$hz" '{printf "%.3f", ($14+$15)/hz}' /proc/"$pid"/stat)" '
    { split($2, f, " "); name=$1; gsub(/[0-9]+$/, "", name); gsub(/"/, "", name); c[name] += (f[12]+f[13])/hz; w[name] += $3/1e9 }
    END {
      printf "{\"total\":%s,\"threads\":{", total; s=""; for (k in c) { printf "%s\"%s\":%.3f", s, k, c[k]; s="," }
      printf "},\"waits\":{"; s=""; for (k in w) { printf "%s\"%s\":%.6f", s, k, w[k]; s="," } printf "}}" }'
}

for kind in $SERVERS; do
  if [[ "$kind" == etcd-ts && "${PROFILE:-1}" != 0 ]]; then
    export ETCDTS_PROF_KIND="$([[ "${PROFILE:-1}" == heap ]] && echo heap || echo cpu)"
    export ETCDTS_NODE_OPTS="${ETCDTS_NODE_OPTS:-} --require $ROOT/bench/cpu-prof-toggle.cjs"
    export ETCDTS_PROF_DIR="$PROF_DIR"
  fi
  start_cluster "$kind"
  leader="$(leader_endpoint)"
  eps=("$leader"); for e in "${ENDPOINTS[@]}"; do [[ "$e" == "$leader" ]] || eps+=("$e"); done
  eplist="$(IFS=,; echo "${eps[*]}")"
  roles=()
  for i in 0 1 2; do if [[ "${ENDPOINTS[$i]}" == "$leader" ]]; then roles+=(leader); else roles+=(follower); fi; done
  echo "== $kind: leader $leader; warm-up $WARMUP_TOTAL puts" >&2
  "${BENCH[@]}" put --val-size "$VAL_SIZE" --total "$WARMUP_TOTAL" --clients 16 --conns 3 --endpoints "$eplist" \
    --key-size "$KEY_SIZE" --key-space "$KEY_SPACE" --transport "$TRANSPORT" --no-progress >/dev/null 2>"$WORK/bench.err"
  if [[ "$PROF_CLIENTS" == 1 && "$PROF_WORKLOAD" == put ]]; then warm_up "$kind" "$eplist" put1 put1f || exit 1; fi
  case "${PROF_VIA:-all}" in
    all) ;;
    follower) eplist="$(follower_endpoint "$eplist")" ;;
    *) echo "unknown PROF_VIA ${PROF_VIA} (all, follower)" >&2; exit 2 ;;
  esac
  sleep 1
  declare -A before=()
  for i in 0 1 2; do
    [[ "$kind" == etcd-ts && "${PROFILE:-1}" != 0 ]] && kill -USR2 "${MEMBER_PIDS[$i]}"
    before[$i]="$(cpu_json "${MEMBER_PIDS[$i]}")"
  done
  sleep 0.3
  echo "== $kind: measured window: $PROF_TOTAL $PROF_WORKLOAD requests, $PROF_CLIENTS clients" >&2
  case "$PROF_WORKLOAD" in
    put) wargs=(put --val-size "$VAL_SIZE" ${PROF_PACE:+--pace "$PROF_PACE"}) ;;
    lease-keepalive) wargs=(lease-keepalive --leases "$KA_LEASES" --streams 4) ;;
    lease) wargs=(lease) ;;
    *) echo "unknown PROF_WORKLOAD $PROF_WORKLOAD (put, lease-keepalive, lease)" >&2; exit 2 ;;
  esac
  beside=""
  if [[ -n "${PROF_BESIDE:-}" ]]; then
    bash -c "$PROF_BESIDE" >"$WORK/beside-$kind.out" 2>&1 &
    beside=$!
  fi
  status=0
  "${BENCH[@]}" "${wargs[@]}" --total "$PROF_TOTAL" --clients "$PROF_CLIENTS" --conns "$PROF_CONNS" \
    --endpoints "$eplist" --key-size "$KEY_SIZE" --key-space "$KEY_SPACE" --transport "$TRANSPORT" --no-progress \
    >"$WORK/bench.out" 2>"$WORK/bench.err" || status=$?
  if [[ -n "$beside" ]]; then
    kill "$beside" 2>/dev/null || true
    wait "$beside" 2>/dev/null || true
    echo "== $kind: beside the window: $WORK/beside-$kind.out" >&2
  fi
  if ((status != 0)); then tail -5 "$WORK/bench.err" >&2; exit "$status"; fi
  summary="$(tail -1 "$WORK/bench.out")"
  echo "$summary" >&2
  for i in 0 1 2; do
    after="$(cpu_json "${MEMBER_PIDS[$i]}")"
    [[ "$kind" == etcd-ts && "${PROFILE:-1}" != 0 ]] && kill -USR2 "${MEMBER_PIDS[$i]}"
    reqs="$PROF_TOTAL"; [[ "$PROF_WORKLOAD" == lease ]] && reqs=$((2 * PROF_TOTAL))
    hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/${MEMBER_PIDS[$i]}/status")"
    printf '{"server":"%s","member":"%s","pid":%s,"role":"%s","total":%s,"before":%s,"after":%s,"hwmKiB":%s,"bench":%s}\n' \
      "$kind" "${MEMBER_NAMES[$i]}" "${MEMBER_PIDS[$i]}" "${roles[$i]}" "$reqs" "${before[$i]}" "$after" "$hwm" "$summary" >>"$WORK/window.jsonl"
  done
  if [[ "$kind" == etcd-ts && "${PROFILE:-1}" != 0 ]]; then
    for i in 0 1 2; do
      for _ in $(seq 1 100); do [[ -f "$PROF_DIR/cpu-${MEMBER_PIDS[$i]}.cpuprofile" || -f "$PROF_DIR/heap-${MEMBER_PIDS[$i]}.heapprofile" ]] && break; sleep 0.1; done
    done
  fi
  stop_members
  unset ETCDTS_NODE_OPTS
done

node - "$WORK/window.jsonl" <<'JS'
const rows = require('fs').readFileSync(process.argv[2], 'utf8').trim().split('\n').map(JSON.parse);
// Per thread name: seconds over the window (after - before, above `minSec`), as µs per request, largest first.
const perRequest = (after = {}, before = {}, requests, minSec) => Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)])
  .filter(([, v]) => v > minSec).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${(v * 1e6 / requests).toFixed(0)}`).join(' ');
for (const r of rows) {
  const d = r.after.total - r.before.total;
  const th = perRequest(r.after.threads, r.before.threads, r.total, 0.005);
  const waits = perRequest(r.after.waits, r.before.waits, r.total, 0.0005);
  console.log(`${r.server} ${r.member} (${r.role}, pid ${r.pid}): ${d.toFixed(2)} CPU s, ${(d * 1e6 / r.total).toFixed(0)} µs/req; per thread µs/req: ${th}; waiting for a CPU µs/req: ${waits}; peak RSS ${(r.hwmKiB / 1024).toFixed(0)} MiB; ${r.bench.requestsPerSec ?? r.bench.keepAlivesPerSec} req/s`);
}
const by = {};
for (const r of rows) by[r.server] = (by[r.server] ?? 0) + (r.after.total - r.before.total) * 1e6 / r.total;
for (const [s, v] of Object.entries(by)) console.log(`${s}: ${v.toFixed(0)} µs/req summed over members`);
JS
echo "profiles: $PROF_DIR" >&2
