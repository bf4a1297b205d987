# Shell helpers shared by bench/run-compare.sh (one member) and
# bench/run-cluster-compare.sh (three members). Source it after `set -euo pipefail`
# and after setting ROOT; then call bench_init.
#
# Every server process is started through start_member, which records its PID;
# the EXIT trap stops each recorded PID (SIGTERM, then SIGKILL after 10 s) and
# removes the temp dir (unless KEEP=1). Nothing is ever signalled by name.
# shellcheck shell=bash

ETCD_BIN="${ETCD_BIN:-etcd}"
# The load generator's client: raw (HTTP/2 frames by hand, bench/load/raw-h2.ts)
# costs it ~13 µs of CPU per put against ~95 for h2 (node:http2), CPU that on a
# 2-core machine the servers being measured would otherwise lose. TLS runs use h2.
TRANSPORT="${TRANSPORT:-raw}"
PORT_LO="${PORT_LO:-40000}"
PORT_HI="${PORT_HI:-49999}"

MEMBER_PIDS=()

# stop_pid PID: SIGTERM, up to 10 s for it to exit, then SIGKILL; reaps it.
stop_pid() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
}

# stop_members: stops every member started so far (all at once: SIGTERM to each,
# then the wait), and forgets them.
stop_members() {
  local pid
  for pid in "${MEMBER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${MEMBER_PIDS[@]}"; do stop_pid "$pid"; done
  MEMBER_PIDS=()
}

BENCH_PID=""
bench_cleanup() {
  stop_pid "$BENCH_PID"
  stop_members
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}

# bench_init PREFIX: temp dir $WORK, results file $RESULTS, traps, build, $BENCH.
bench_init() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
  RESULTS="$WORK/results.jsonl"
  : >"$RESULTS"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then (cd "$ROOT" && npm run build --silent); fi
  BENCH=(node "$ROOT/dist/bench/cli.js")
}

# A loopback port in PORT_LO..PORT_HI that nobody accepts on (and not handed out before).
USED_PORTS=" "
free_port() {
  local p
  for _ in $(seq 1 500); do
    p=$((PORT_LO + RANDOM % (PORT_HI - PORT_LO + 1)))
    [[ "$USED_PORTS" == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      USED_PORTS+="$p "
      echo "$p"
      return 0
    fi
  done
  echo "no free port found in $PORT_LO-$PORT_HI" >&2
  return 1
}
# Sets PORT to a free port (in the current shell, so USED_PORTS remembers it:
# $(free_port) would run in a subshell and forget).
alloc_port() {
  free_port >"$WORK/.port"
  PORT="$(<"$WORK/.port")"
}

# start_member KIND DIR FLAGS...: starts one server (etcd-ts or etcd) with etcd's
# flags, log in DIR/server.log; appends its PID to MEMBER_PIDS and sets LAST_PID.
start_member() {
  local kind="$1" dir="$2"; shift 2
  mkdir -p "$dir"
  case "$kind" in
    etcd-ts) (cd "$dir" && exec "$ROOT/bin/etcd-ts" "$@") >"$dir/server.log" 2>&1 & ;;
    # Another build of etcd-ts (bench/run-ab.sh): its checkout in BASE.
    etcd-ts-base) (cd "$dir" && exec "$BASE/bin/etcd-ts" "$@") >"$dir/server.log" 2>&1 & ;;
    etcd) (cd "$dir" && exec "$ETCD_BIN" "$@") >"$dir/server.log" 2>&1 & ;;
    *) echo "unknown server $kind" >&2; return 1 ;;
  esac
  LAST_PID=$!
  MEMBER_PIDS+=("$LAST_PID")
}

# wait_healthy KIND SECONDS ENDPOINT... : waits (bounded) until every member
# started is alive, logged "ready to serve client requests", and
# `etcdctl endpoint health` over all ENDPOINTS succeeds.
wait_healthy() {
  local kind="$1" secs="$2"; shift 2
  local eps; eps="$(IFS=,; echo "$*")"
  local deadline=$((SECONDS + secs)) pid log
  while ((SECONDS < deadline)); do
    for pid in "${MEMBER_PIDS[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "$kind member (pid $pid) exited during start-up; logs:" >&2
        for log in "$WORK/$kind"/server.log "$WORK/$kind"/*/server.log; do
          [[ -f "$log" ]] && { echo "--- $log" >&2; tail -20 "$log" >&2; }
        done
        return 1
      fi
    done
    local ready=1
    for log in "$WORK/$kind"/server.log "$WORK/$kind"/*/server.log; do
      [[ -f "$log" ]] || continue
      grep -q "ready to serve client requests" "$log" 2>/dev/null || ready=0
    done
    if ((ready)) && etcdctl --endpoints "$eps" --command-timeout=2s endpoint health >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "$kind did not become healthy within ${secs}s; logs:" >&2
  for log in "$WORK/$kind"/server.log "$WORK/$kind"/*/server.log; do
    [[ -f "$log" ]] && { echo "--- $log" >&2; tail -20 "$log" >&2; }
  done
  return 1
}

# record_proc KIND MEMBER PID: appends the process's peak RSS (VmHWM, KiB) and
# CPU time (utime + stime, seconds) to the results.
record_proc() {
  local kind="$1" member="$2" pid="$3" hwm cpu
  hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")"
  cpu="$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$pid/stat")"
  printf '{"server":"%s","label":"_proc","member":"%s","hwmKiB":%s,"cpuSec":%s}\n' \
    "$kind" "$member" "$hwm" "$cpu" >>"$RESULTS"
}

# max_hwm_kib PID...: the largest VmHWM (peak RSS, KiB) of the processes.
max_hwm_kib() {
  local pid
  for pid in "$@"; do awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"; done | sort -n | tail -1
}

# cpu_ticks PID...: summed utime + stime of the processes, in clock ticks (/proc/PID/stat).
cpu_ticks() {
  local pid t=0 s
  for pid in "$@"; do
    # Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
    s="$(<"/proc/$pid/stat")"; s="${s##*) }"
    t=$((t + $(awk '{print $12 + $13}' <<<"$s")))
  done
  echo "$t"
}

# run_bench KIND LABEL ENDPOINTS BENCH-ARGS... : runs the load generator against
# ENDPOINTS (comma-separated) and appends {"server","label","summary"} to the results.
# With CPU_PIDS set (space-separated server PIDs), the line also gets "cpuSec": the
# CPU time those processes used during the run, summed; with REP set, "rep".
run_bench() {
  local kind="$1" label="$2" eps="$3"; shift 3
  echo "== $kind: $label" >&2
  local out t0=0 extra=""
  # shellcheck disable=SC2086
  [[ -n "${CPU_PIDS:-}" ]] && t0="$(cpu_ticks $CPU_PIDS)"
  # In the background (PID recorded) so that the trap can stop it too; `wait`
  # lets a signal's trap run at once.
  "${BENCH[@]}" "$@" --endpoints "$eps" --key-size "$KEY_SIZE" --key-space "$KEY_SPACE" \
    --transport "$TRANSPORT" --no-progress >"$WORK/bench.out" 2>"$WORK/bench.err" &
  BENCH_PID=$!
  wait "$BENCH_PID" || true
  BENCH_PID=""
  out="$(tail -1 "$WORK/bench.out")"
  if [[ "$out" != \{* ]]; then tail -5 "$WORK/bench.err" >&2; fi
  if [[ "$out" != \{* ]]; then echo "bench failed ($kind $label)" >&2; return 1; fi
  echo "$out" >&2
  if [[ -n "${CPU_PIDS:-}" ]]; then
    # shellcheck disable=SC2086
    extra+=",\"cpuSec\":$(awk -v a="$t0" -v b="$(cpu_ticks $CPU_PIDS)" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.3f", (b - a) / hz}')"
    # The largest member's peak RSS so far (VmHWM only grows): which row raised it.
    # shellcheck disable=SC2086
    extra+=",\"hwmKiB\":$(max_hwm_kib $CPU_PIDS)"
  fi
  [[ -n "${REP:-}" ]] && extra+=",\"rep\":$REP"
  printf '{"server":"%s","label":"%s","summary":%s%s}\n' "$kind" "$label" "$out" "$extra" >>"$RESULTS"
}

# warm_up KIND ENDPOINTS WORKLOAD... : WARMUP_TOTAL requests (default 10000; 0 = off)
# (watch: 500 puts to 1000 watchers)
# of each workload (put, txn, range-l, range-s) with 16 clients, results thrown
# away, before anything is measured. Same for every server: a JIT runtime measured
# in its first seconds measures its compiler (the first runs of a cold etcd-ts ran
# mostly interpreted code), and a server in production is warm.
warm_up() {
  local kind="$1" eps="$2" w args total clients conns weps; shift 2
  [[ "${WARMUP_TOTAL:-10000}" == 0 ]] && return 0
  for w in "$@"; do
    total="${WARMUP_TOTAL:-10000}" clients=16 conns=4 weps="$eps"
    case "$w" in
      put) args=(put --val-size "$VAL_SIZE") ;;
      txn) args=(txn --val-size "$VAL_SIZE") ;;
      range-l) args=(range --consistency l) ;;
      range-s) args=(range --consistency s) ;;
      # The watch row's shape (1000 watchers, 10 streams), 500 puts at 250/s: its
      # fan-out and stream code runs warm in the first measured run too.
      watch) args=(watch --watchers 1000 --streams 10 --rate 250 --val-size 64); total=500 ;;
      # One client's puts, through the leader (EPS lists it first) and through a
      # follower: a JIT runtime runs paths there that batched load never warms
      # (one entry per append, the inline WAL write, commit notices), and its
      # first seconds of them measured the compiler (PERFORMANCE.md, 21st round).
      put1) args=(put --val-size "$VAL_SIZE"); total=$(( total / 4 )) clients=1 conns=1 ;;
      put1f) args=(put --val-size "$VAL_SIZE"); total=$(( total / 8 )) clients=1 conns=1 weps="$(follower_endpoint "$eps")" ;;
      # The lease row's grants and revokes (each lease granted is revoked): cold, a
      # JIT runtime's grant p99 was ~10% above its own warm runs' (PERFORMANCE.md,
      # 22nd round); etcd's did not move.
      lease) args=(lease); total=$(( total / 4 )) ;;
      *) continue ;;
    esac
    echo "== $kind: warm-up $w ($total requests, not recorded)" >&2
    "${BENCH[@]}" "${args[@]}" --total "$total" --clients "$clients" --conns "$conns" --endpoints "$weps" \
      --key-size "$KEY_SIZE" --key-space "$KEY_SPACE" --transport "$TRANSPORT" --no-progress >/dev/null 2>"$WORK/bench.err" &
    BENCH_PID=$!
    wait "$BENCH_PID" || { tail -5 "$WORK/bench.err" >&2; echo "warm-up failed ($kind $w)" >&2; return 1; }
    BENCH_PID=""
  done
}

# print_table: the side-by-side table of $RESULTS (servers as columns, in the
# order they ran, plus first/second ratio when there are two). With several
# members per server, peak RSS is the largest member's and CPU the sum.
# TABLE_METRICS: which rows per label (default "req/s p50 p99").
print_table() {
  node - "$RESULTS" "${TABLE_METRICS:-req/s p50 p99}" <<'JS'
const fs = require('node:fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const metrics = process.argv[3].split(/\s+/);
const servers = [...new Set(rows.map((r) => r.server))];
const labels = [...new Set(rows.filter((r) => !r.label.startsWith('_')).map((r) => r.label))];
const get = (s, l) => rows.find((r) => r.server === s && r.label === l);
const procs = (s) => rows.filter((r) => r.server === s && r.label === '_proc');
const multi = servers.some((s) => procs(s).length > 1);
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
  if (metrics.includes('req/s')) add(`${l} req/s`, s.map((x) => x?.requestsPerSec));
  if (metrics.includes('p50')) add(`${l} p50 ms`, s.map((x) => x?.latencyMs.p50));
  if (metrics.includes('p99')) add(`${l} p99 ms`, s.map((x) => x?.latencyMs.p99));
  const errs = s.map((x) => x?.errors ?? 0);
  if (errs.some((e) => e)) add(`${l} errors`, errs);
}
const mib = (k) => Math.round(k / 1024);
const maxOf = (xs) => (xs.length ? Math.max(...xs) : undefined);
const sumOf = (xs) => (xs.length ? Math.round(xs.reduce((a, b) => a + b, 0) * 10) / 10 : undefined);
if (multi) {
  add('peak RSS MiB, max member', servers.map((sv) => { const m = maxOf(procs(sv).map((p) => p.hwmKiB)); return m === undefined ? undefined : mib(m); }));
  const members = [...new Set(rows.filter((r) => r.label === '_proc').map((r) => r.member))];
  for (const m of members) {
    add(`  peak RSS MiB, ${m}`, servers.map((sv) => { const p = procs(sv).find((x) => x.member === m); return p ? mib(p.hwmKiB) : undefined; }));
  }
  add('server CPU s, all members', servers.map((sv) => sumOf(procs(sv).map((p) => p.cpuSec))));
} else {
  add('peak RSS MiB', servers.map((sv) => (procs(sv)[0] ? mib(procs(sv)[0].hwmKiB) : undefined)));
  add('server CPU s', servers.map((sv) => procs(sv)[0]?.cpuSec));
}
const w = cols.map((c, i) => Math.max(c.length, ...table.map((r) => r[i].length)));
const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
console.log(fmt(cols));
console.log(w.map((n) => '-'.repeat(n)).join('  '));
for (const r of table) console.log(fmt(r));
JS
}

# start_single KIND [FLAGS...]: one member in $WORK/KIND (data in $WORK/KIND/data),
# waits until healthy; sets EP (its client endpoint) and LAST_PID.
start_single() {
  local kind="$1" cport pport; shift
  alloc_port; cport="$PORT"
  alloc_port; pport="$PORT"
  start_member "$kind" "$WORK/$kind" --name bench --data-dir "$WORK/$kind/data" \
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "bench=http://127.0.0.1:$pport" "$@"
  wait_healthy "$kind" 30 "127.0.0.1:$cport"
  EP="127.0.0.1:$cport"
}

# ---- 3-member clusters (run-cluster-compare.sh, run-table.sh) ----
NAMES=(a b c)
CONNS_PER_RUN="${CONNS_PER_RUN:-1:1 16:3 256:16}"
LEADER_FIRST="${LEADER_FIRST:-1}"

# conns_for CLIENTS: gRPC connections for that many clients (CONNS_PER_RUN, else min(clients, 16)).
conns_for() {
  local c="$1" kv
  for kv in $CONNS_PER_RUN; do
    if [[ "${kv%%:*}" == "$c" ]]; then echo "${kv#*:}"; return; fi
  done
  echo $((c < 16 ? c : 16))
}

# start_cluster KIND: three members in $WORK/KIND/{a,b,c}; sets ENDPOINTS (a,b,c
# order), MEMBER_NAMES and CLUSTER_PIDS (their PIDs, also in MEMBER_PIDS).
# CLUSTER_ARGS: more flags for every member (split on spaces).
start_cluster() {
  local kind="$1" n cports=() pports=() initial=""
  for n in "${NAMES[@]}"; do
    alloc_port; cports+=("$PORT")
    alloc_port; pports+=("$PORT")
  done
  local i
  for i in 0 1 2; do
    initial+="${initial:+,}${NAMES[$i]}=http://127.0.0.1:${pports[$i]}"
  done
  ENDPOINTS=()
  MEMBER_NAMES=()
  CLUSTER_PIDS=()
  for i in 0 1 2; do
    n="${NAMES[$i]}"
    start_member "$kind" "$WORK/$kind/$n" --name "$n" --data-dir "$WORK/$kind/$n/data" \
      --listen-client-urls "http://127.0.0.1:${cports[$i]}" --advertise-client-urls "http://127.0.0.1:${cports[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${pports[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${pports[$i]}" \
      --initial-cluster "$initial" --initial-cluster-token "bench-$kind-$$" --initial-cluster-state new \
      ${CLUSTER_ARGS:-}
    ENDPOINTS+=("127.0.0.1:${cports[$i]}")
    CLUSTER_PIDS+=("$LAST_PID")
    MEMBER_NAMES+=("$n")
  done
  echo "== $kind: cluster $initial" >&2
  wait_healthy "$kind" 60 "${ENDPOINTS[@]}"
}

# leader_endpoint: the endpoint whose member is the leader (empty if none agrees).
leader_endpoint() {
  etcdctl --endpoints "$(IFS=,; echo "${ENDPOINTS[*]}")" --command-timeout=3s endpoint status -w simple 2>/dev/null |
    awk -F', ' '$5 == "true" {print $1; exit}'
}


# cluster_endpoints KIND: after start_cluster, sets EPLIST (comma-separated; the
# leader's endpoint first when LEADER_FIRST=1) and LEADER_NAME, and records the leader.
# follower_endpoint EPLIST: a follower's endpoint in a list cluster_endpoints made
# with the leader first (LEADER_FIRST=1): the second one.
follower_endpoint() {
  cut -d, -f2 <<<"$1"
}

cluster_endpoints() {
  local kind="$1" leader e i eps
  leader="$(leader_endpoint)"
  eps=("${ENDPOINTS[@]}")
  if [[ "$LEADER_FIRST" == 1 && -n "$leader" ]]; then
    eps=("$leader")
    for e in "${ENDPOINTS[@]}"; do [[ "$e" == "$leader" ]] || eps+=("$e"); done
  fi
  EPLIST="$(IFS=,; echo "${eps[*]}")"
  LEADER_NAME="?"
  for i in 0 1 2; do [[ "${ENDPOINTS[$i]}" == "$leader" ]] && LEADER_NAME="${MEMBER_NAMES[$i]}"; done
  echo "== $kind: leader $LEADER_NAME ($leader); endpoints $EPLIST" >&2
  printf '{"server":"%s","label":"_leader","member":"%s"}\n' "$kind" "$LEADER_NAME" >>"$RESULTS"
}
