#!/usr/bin/env bash
# The issue #12 table: ours against etcd 3.4, 3 members each, paired and
# alternated. Both clusters are started (bench/lib.sh start_cluster) and stay up
# for the whole run; each row runs against ours, then etcd, then etcd, then ours
# … (REPS times each, ABBA), so slow drift of the machine and the cost of going
# second in a pair hit both alike (use an even REPS). One command:
#
#   npm run bench -- compare                 # = bench/run-table.sh
#   TOTAL_SCALE=0.05 npm run bench -- compare   # a quick smoke run
#   REPS=3 ROWS="put16 txn16" bench/run-table.sh
#   SERVERS="etcd-ts-base etcd-ts" BASE=/tmp/base REPS=5 ROWS=keepalive16 bench/run-table.sh
#                                            # A/B of two builds of ours (BASE: a built checkout)
#
# Rows (ROWS selects, by id): put1 put16 put256 (put, 1/16/256 clients), put1f
# (put, 1 client connected to a follower: it forwards each proposal and answers
# once it has applied the entry, as for 2 of 3 connections of a client given
# every member's endpoint), put1p (put, 1 client to the leader, PACED_PUTS puts
# at 50/s: a write to an idle cluster, as configuration and service discovery
# write),
# range-l16 (linearizable, 16), range-s256 (serializable, 256), txn16 (txn put,
# 16), lease16 (LeaseGrant of LEASE_TOTAL leases then LeaseRevoke of each, 16 in
# flight), watch (1000 watchers on 10 streams, WATCH_PUTS puts at 50/s),
# keepalive16 (lease keep-alives for KA_LEASES leases, 16 in flight).
#
# Columns: throughput (req/s; watch: events delivered/s), p99 latency (ms), server
# CPU per request (µs: the CPU time the 3 members used during the run, from
# /proc/PID/stat utime + stime, summed, over the requests completed; lease16 counts
# grants + revokes, watch counts puts, keepalive16 counts keep-alives plus the
# grant and revoke of its leases in the CPU), each ours and etcd and ours/etcd.
# With REPS > 1 every cell is the median over the repetitions. Then each member's
# peak RSS (VmHWM) at the end, and the largest member's right after each row (the
# row where it jumps set the peak).
#
# Environment: REPS (1), ROWS (all), TOTAL_SCALE (1: multiplies every total),
# PUT1_TOTAL (10000), PUT_TOTAL (20000, 16 clients), PUT256_TOTAL (50000),
# RANGE_TOTAL (20000), RANGE256_TOTAL (50000), TXN_TOTAL (20000), LEASE_TOTAL
# (5000 leases), WATCH_PUTS (500, at 50/s: 10 s), KA_TOTAL (50000), KA_LEASES (1000),
# PACED_PUTS (1500, at 50/s: 30 s), KEY_SIZE (8), VAL_SIZE (256), KEY_SPACE (10000), TIMEOUT_MS (10000),
# WARMUP_TOTAL (10000 x TOTAL_SCALE, at least 500; 0 = off; with a put 1c row, a
# quarter of it more at one client through the leader and an eighth through a
# follower; WARMUP_1C=0 leaves those out; with the lease row, a quarter of it in
# lease grants and revokes), FRESH_CLUSTERS=1 (new
# clusters, warmed up, for every repetition: all rows run once against them, then they
# stop; without it one cluster per server serves the whole run), VIA=follower (every
# row's clients connect to one follower only, instead of every member), CONNS_PER_RUN,
# LEADER_FIRST, TRANSPORT, ETCD_BIN, KEEP=1, SKIP_BUILD=1 (see bench/lib.sh), POOLED=1
# (the put, range and txn rows' generator logs every request's latency; after the
# table, each such row's p50/p90/p99/p99.9 over every request of every repetition,
# both servers: bench/pooled-latency.ts).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPS="${REPS:-1}"
ROWS="${ROWS:-put1 put1f put1p put16 put256 range-l16 range-s256 txn16 lease16 watch keepalive16}"
TOTAL_SCALE="${TOTAL_SCALE:-1}"
KEY_SIZE="${KEY_SIZE:-8}"
VAL_SIZE="${VAL_SIZE:-256}"
KEY_SPACE="${KEY_SPACE:-10000}"
TIMEOUT_MS="${TIMEOUT_MS:-10000}"
PORT_LO="${PORT_LO:-46000}"
PORT_HI="${PORT_HI:-49999}"
# SERVERS: the two servers compared (default "etcd-ts etcd"); "etcd-ts-base etcd-ts"
# with BASE=<another checkout, built> compares two builds of ours (an A/B).
read -r -a SERVERS <<<"${SERVERS:-etcd-ts etcd}"

# scaled DEFAULT MIN: DEFAULT x TOTAL_SCALE, at least MIN.
scaled() { awk -v d="$1" -v s="$TOTAL_SCALE" -v m="$2" 'BEGIN { n = int(d * s + 0.5); print (n < m ? m : n) }'; }
# The 1-client rows are the fastest and their p99 the noisiest: a row's p99 is
# its hundredth-worst request only from 10,000 requests on (with 2,000, its 20
# worst; the same build's p99 then moved by 1.2-1.5x between runs).
PUT1_TOTAL="${PUT1_TOTAL:-$(scaled 10000 100)}"
PUT_TOTAL="${PUT_TOTAL:-$(scaled 20000 500)}"
PUT256_TOTAL="${PUT256_TOTAL:-$(scaled 50000 1000)}"
RANGE_TOTAL="${RANGE_TOTAL:-$(scaled 20000 500)}"
RANGE256_TOTAL="${RANGE256_TOTAL:-$(scaled 50000 1000)}"
TXN_TOTAL="${TXN_TOTAL:-$(scaled 20000 500)}"
LEASE_TOTAL="${LEASE_TOTAL:-$(scaled 5000 200)}"
WATCH_PUTS="${WATCH_PUTS:-$(scaled 500 50)}"
PACED_PUTS="${PACED_PUTS:-$(scaled 1500 50)}"
KA_TOTAL="${KA_TOTAL:-$(scaled 50000 1000)}"
KA_LEASES="${KA_LEASES:-$(scaled 1000 100)}"
WARMUP_TOTAL="${WARMUP_TOTAL:-$(scaled 10000 500)}"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-table

declare -A EPS FOLLOWER_EP PIDS
# The watch row gets a watch warm-up of its own (both servers alike): without
# it a JIT runtime's first watch run measured its compiler (2026-12-05, load
# ~7: ours p99 323 ms in the first run, 94 in the second; etcd 101 and 111).
warm_ups=(put txn range-l range-s)
[[ " $ROWS " == *" watch "* ]] && warm_ups+=(watch)
# And the 1-client put rows one of their own (WARMUP_1C=0: without it, as before
# the twenty-first round).
if [[ "${WARMUP_1C:-1}" != 0 && " $ROWS " == *" put1"* ]]; then warm_ups+=(put1 put1f); fi
# And the lease row (since the twenty-second round).
[[ " $ROWS " == *" lease16 "* ]] && warm_ups+=(lease)

# clusters_up: a fresh 3-member cluster of each server, warmed up.
clusters_up() {
  local kind
  for kind in "${SERVERS[@]}"; do
    rm -rf "${WORK:?}/$kind"
    start_cluster "$kind"
    cluster_endpoints "$kind"
    EPS[$kind]="$EPLIST"
    FOLLOWER_EP[$kind]="$(follower_endpoint "$EPLIST")"
    PIDS[$kind]="${CLUSTER_PIDS[*]}"
  done
  for kind in "${SERVERS[@]}"; do warm_up "$kind" "${EPS[$kind]}" "${warm_ups[@]}"; done
}

# clusters_down: records each member's peak RSS, then stops every member.
clusters_down() {
  local kind pids i
  for kind in "${SERVERS[@]}"; do
    read -r -a pids <<<"${PIDS[$kind]}"
    for i in 0 1 2; do record_proc "$kind" "${NAMES[$i]}" "${pids[$i]}"; done
  done
  stop_members
}

# row_args ID: sets LABEL and ARGS (the load generator's workload and flags).
row_args() {
  case "$1" in
    put1) LABEL="put 1c"; ARGS=(put --val-size "$VAL_SIZE" --clients 1 --conns 1 --total "$PUT1_TOTAL" --timeout "$TIMEOUT_MS") ;;
    put1f) LABEL="put 1c via a follower"; ARGS=(put --val-size "$VAL_SIZE" --clients 1 --conns 1 --total "$PUT1_TOTAL" --timeout "$TIMEOUT_MS") ;;
    put1p) LABEL="put 1c at 50/s"; ARGS=(put --val-size "$VAL_SIZE" --clients 1 --conns 1 --pace 50 --total "$PACED_PUTS" --timeout "$TIMEOUT_MS") ;;
    put16) LABEL="put 16c"; ARGS=(put --val-size "$VAL_SIZE" --clients 16 --conns "$(conns_for 16)" --total "$PUT_TOTAL" --timeout "$TIMEOUT_MS") ;;
    put256) LABEL="put 256c"; ARGS=(put --val-size "$VAL_SIZE" --clients 256 --conns "$(conns_for 256)" --total "$PUT256_TOTAL" --timeout "$TIMEOUT_MS") ;;
    range-l16) LABEL="range linearizable 16c"; ARGS=(range --consistency l --clients 16 --conns "$(conns_for 16)" --total "$RANGE_TOTAL" --timeout "$TIMEOUT_MS") ;;
    range-s256) LABEL="range serializable 256c"; ARGS=(range --consistency s --clients 256 --conns "$(conns_for 256)" --total "$RANGE256_TOTAL" --timeout "$TIMEOUT_MS") ;;
    txn16) LABEL="txn put 16c"; ARGS=(txn --val-size "$VAL_SIZE" --clients 16 --conns "$(conns_for 16)" --total "$TXN_TOTAL" --timeout "$TIMEOUT_MS") ;;
    lease16) LABEL="lease grant+revoke 16c"; ARGS=(lease --clients 16 --conns "$(conns_for 16)" --total "$LEASE_TOTAL") ;;
    watch) LABEL="watch 1000w 50 puts/s"; ARGS=(watch --watchers 1000 --streams 10 --conns 3 --rate 50 --total "$WATCH_PUTS" --val-size 64) ;;
    keepalive16) LABEL="lease keep-alive 16c"; ARGS=(lease-keepalive --leases "$KA_LEASES" --streams 4 --clients 16 --conns "$(conns_for 16)" --total "$KA_TOTAL") ;;
    *) echo "unknown row $1 (rows: put1 put1f put1p put16 put256 range-l16 range-s256 txn16 lease16 watch keepalive16)" >&2; exit 2 ;;
  esac
}

# run_pair ROW REP: the row's run against each server, in the repetition's order.
run_pair() {
  local row="$1" rep="$2" kind eps order
  row_args "$row"
  # ABBA: odd repetitions run ours first, even ones etcd first. The second run of
  # a pair measured slower (1-client put p50 10-25%, whichever server it was),
  # the first cluster's background work (LevelDB, GC) still running.
  order=("${SERVERS[@]}")
  ((rep % 2 == 0)) && order=("${SERVERS[1]}" "${SERVERS[0]}")
  for kind in "${order[@]}"; do
    eps="${EPS[$kind]}"
    [[ "$row" == put1f || "${VIA:-}" == follower ]] && eps="${FOLLOWER_EP[$kind]}"
    local lat=()
    if [[ "${POOLED:-0}" == 1 && " put range txn " == *" ${ARGS[0]} "* ]]; then
      lat=(--latency-log "$WORK/latency/$kind.$row.$rep.log")
      mkdir -p "$WORK/latency"
      printf '{"server":"%s","label":"%s","file":"%s"}\n' "$kind" "$LABEL" "${lat[1]}" >>"$WORK/latency/index.jsonl"
    fi
    CPU_PIDS="${PIDS[$kind]}" REP="$rep" run_bench "$kind" "$LABEL" "$eps" "${ARGS[@]}" "${lat[@]}"
  done
}

for row in $ROWS; do row_args "$row"; done # unknown rows fail before anything starts
if [[ "${FRESH_CLUSTERS:-0}" == 1 ]]; then
  # New clusters for every repetition: which member leads, where its files and
  # memory landed, what its neighbours do, all stay the same for a cluster's
  # life and differ between clusters. One cluster per server for the whole run
  # makes that one draw part of every pair (two builds with the same put 1c path
  # measured 5-9% apart in p99, three A/Bs in a row: docs/PERFORMANCE.md,
  # eighteenth round). Costs a start and a warm-up per repetition.
  for rep in $(seq 1 "$REPS"); do
    clusters_up
    for row in $ROWS; do run_pair "$row" "$rep"; done
    clusters_down
  done
else
  clusters_up
  for row in $ROWS; do
    for rep in $(seq 1 "$REPS"); do run_pair "$row" "$rep"; done
  done
  clusters_down
fi

echo
echo "3 members each, paired and alternated (${SERVERS[0]} first in odd repetitions, ${SERVERS[1]} first in even ones), REPS=$REPS$( ((REPS > 1)) && echo ' (medians)')$( [[ "${FRESH_CLUSTERS:-0}" == 1 ]] && echo ', new clusters every repetition'); transport=$TRANSPORT key-size=$KEY_SIZE val-size=$VAL_SIZE key-space=$KEY_SPACE TOTAL_SCALE=$TOTAL_SCALE"
echo "totals: put 1c=$PUT1_TOTAL (at 50/s: $PACED_PUTS) 16c=$PUT_TOTAL 256c=$PUT256_TOTAL range l=$RANGE_TOTAL s=$RANGE256_TOTAL txn=$TXN_TOTAL leases=$LEASE_TOTAL watch puts=$WATCH_PUTS keep-alives=$KA_TOTAL ($KA_LEASES leases); warm-up $WARMUP_TOTAL x 4 workloads (then: ${warm_ups[*]:4})"
node - "$RESULTS" "${SERVERS[@]}" <<'JS'
const fs = require('node:fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const [A, B] = [process.argv[3], process.argv[4]];
const [nameA, nameB] = B === 'etcd' ? ['ours', 'etcd'] : [A, B];
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
// Per workload: throughput, p99, and the requests the server CPU is divided by.
const measure = (s) => {
  switch (s.workload) {
    case 'watch': return { tput: s.eventsPerSec, p99: s.latencyMs.p99, reqs: s.total - s.putErrors, errs: s.putErrors + s.missingEvents };
    case 'lease-keepalive': return { tput: s.keepAlivesPerSec, p99: s.latencyMs.p99, reqs: s.completed, errs: s.errors };
    default: return { tput: s.requestsPerSec, p99: s.latencyMs.p99, reqs: s.completed - s.errors, errs: s.errors };
  }
};
const labels = [...new Set(rows.filter((r) => !r.label.startsWith('_')).map((r) => r.label))];
const cell = (server, label) => {
  const ms = rows.filter((r) => r.server === server && r.label === label).map((r) => ({ ...measure(r.summary), cpu: r.cpuSec }));
  return {
    tput: median(ms.map((m) => m.tput)),
    p99: median(ms.map((m) => m.p99)),
    cpuUs: median(ms.map((m) => (m.reqs > 0 ? (m.cpu * 1e6) / m.reqs : undefined))),
    cpuEach: ms.map((m) => (m.reqs > 0 ? Math.round((m.cpu * 1e6) / m.reqs) : '-')),
    tputEach: ms.map((m) => Math.round(m.tput)),
    errs: ms.reduce((a, m) => a + (m.errs || 0), 0),
  };
};
const f = (x, d = 0) => (x === undefined ? '-' : x.toFixed(d));
const ratio = (a, b) => (a === undefined || !b ? '-' : (a / b).toFixed(2) + 'x');
const head = ['row', `${nameA}/s`, `${nameB}/s`, 'ratio', `${nameA} p99 ms`, `${nameB} p99 ms`, 'ratio', `${nameA} CPU µs/req`, `${nameB} CPU µs/req`, 'ratio'];
const table = [];
const notes = [];
for (const l of labels) {
  const a = cell(A, l), b = cell(B, l);
  table.push([l, f(a.tput), f(b.tput), ratio(a.tput, b.tput), f(a.p99, 2), f(b.p99, 2), ratio(a.p99, b.p99), f(a.cpuUs), f(b.cpuUs), ratio(a.cpuUs, b.cpuUs)]);
  if (a.errs || b.errs) notes.push(`${l}: errors ${nameA} ${a.errs}, ${nameB} ${b.errs}`);
  if (a.cpuEach.length > 1) notes.push(`${l}: each repetition, req/s ${nameA} ${a.tputEach.join(' ')}, ${nameB} ${b.tputEach.join(' ')}; CPU µs/req ${nameA} ${a.cpuEach.join(' ')}, ${nameB} ${b.cpuEach.join(' ')}`);
}
const w = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
console.log(fmt(head));
console.log(w.map((n) => '-'.repeat(n)).join('  '));
for (const r of table) console.log(fmt(r));
const procs = (s) => rows.filter((r) => r.server === s && r.label === '_proc');
// Per member name, the largest peak of its clusters (FRESH_CLUSTERS=1 starts one per repetition).
const rss = (s) => {
  const peak = new Map();
  for (const p of procs(s)) peak.set(p.member, Math.max(peak.get(p.member) ?? 0, p.hwmKiB));
  return [...peak].map(([m, kib]) => `${m}=${Math.round(kib / 1024)}`).join(' ');
};
const maxHwm = (s) => Math.max(...procs(s).map((p) => p.hwmKiB));
console.log(`peak RSS MiB per member: ${nameA} ${rss(A)}; ${nameB} ${rss(B)}; max ${nameA}/${nameB} ${ratio(maxHwm(A), maxHwm(B))}`);
// The largest member's peak RSS right after each row (the largest over repetitions):
// it only grows within a cluster, so the row where it jumps is the one that set it.
const hwmAfter = (s, l) => {
  const v = rows.filter((r) => r.server === s && r.label === l && typeof r.hwmKiB === 'number').map((r) => r.hwmKiB);
  return v.length ? Math.round(Math.max(...v) / 1024) : '-';
};
console.log(`peak RSS MiB after each row, largest member, ${nameA}/${nameB}: ${labels.map((l) => `${l} ${hwmAfter(A, l)}/${hwmAfter(B, l)}`).join(', ')}`);
console.log(`(ratio = ${nameA}/${nameB}: above 1x is better for req/s, worse for p99 and CPU; watch: events delivered/s, CPU per put)`);
for (const n of notes) console.log(`note: ${n}`);
JS
if [[ "${POOLED:-0}" == 1 ]]; then node "$ROOT/dist/bench/pooled-latency.js" "$WORK/latency/index.jsonl" "${SERVERS[@]}"; fi
