#!/usr/bin/env bash
# What auth costs, etcd-ts beside etcd 3.4 on 3-member clusters: put and
# linearizable range with auth off, with simple tokens and with JWTs (RS256, keys
# made here), the load generator authenticating each connection as a non-root
# user holding readwrite on the whole key space through a role (so every request
# goes through a real permission check, not root's shortcut). One cluster at a
# time; the servers alternate within each mode, REPS rounds.
#
#   bench/run-auth-compare.sh
#   REPS=3 CLIENTS=64 TOTAL=20000 bench/run-auth-compare.sh
#
# Environment: SERVERS ("etcd-ts etcd"), MODES ("off simple jwt"), REPS (2),
# CLIENTS (64), TOTAL (10000), KEY_SIZE (8), VAL_SIZE (256), KEY_SPACE (10000),
# TRANSPORT (h2), PORT_LO/PORT_HI (21000-23999), SKIP_BUILD=1, KEEP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVERS="${SERVERS:-etcd-ts etcd}"
MODES="${MODES:-off simple jwt}"
REPS="${REPS:-2}"
CLIENTS="${CLIENTS:-64}"
TOTAL="${TOTAL:-10000}"
KEY_SIZE="${KEY_SIZE:-8}"
VAL_SIZE="${VAL_SIZE:-256}"
KEY_SPACE="${KEY_SPACE:-10000}"
# Below the kernel's ephemeral range (32768-60999 here): a port there can be taken
# by any outgoing connection between the probe and the bind (etcd then exits).
PORT_LO="${PORT_LO:-21000}"
PORT_HI="${PORT_HI:-23999}"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-auth-compare

openssl genrsa -out "$WORK/jwt.key" 2048 2>/dev/null
openssl rsa -in "$WORK/jwt.key" -pubout -out "$WORK/jwt.pub" 2>/dev/null

# setup_auth ENDPOINT: root, and user bench with readwrite on every key, then auth on.
setup_auth() {
  local ctl=(etcdctl --endpoints "$1" --command-timeout=10s)
  "${ctl[@]}" user add root:rootpw >/dev/null
  "${ctl[@]}" user grant-role root root >/dev/null 2>&1 || { "${ctl[@]}" role add root >/dev/null; "${ctl[@]}" user grant-role root root >/dev/null; }
  "${ctl[@]}" user add bench:benchpw >/dev/null
  "${ctl[@]}" role add rw >/dev/null
  "${ctl[@]}" role grant-permission rw readwrite '' --from-key >/dev/null
  "${ctl[@]}" user grant-role bench rw >/dev/null
  "${ctl[@]}" auth enable >/dev/null
}

for rep in $(seq 1 "$REPS"); do
  for mode in $MODES; do
    for kind in $SERVERS; do
      case "$mode" in
        off) CLUSTER_ARGS="" ;;
        simple) CLUSTER_ARGS="--auth-token simple" ;;
        jwt) CLUSTER_ARGS="--auth-token jwt,pub-key=$WORK/jwt.pub,priv-key=$WORK/jwt.key,sign-method=RS256" ;;
        *) echo "unknown mode $mode" >&2; exit 2 ;;
      esac
      rm -rf "${WORK:?}/$kind"
      start_cluster "$kind"
      cluster_endpoints "$kind"
      user=()
      if [[ "$mode" != off ]]; then setup_auth "${ENDPOINTS[0]}"; user=(--user bench:benchpw); fi
      # Warm-up, not recorded: a JIT runtime measured cold measures its compiler.
      REP="$rep" run_bench "$kind" "warm $mode" "$EPLIST" put --val-size "$VAL_SIZE" --total 5000 --clients 16 --conns 4 "${user[@]}" >/dev/null 2>&1 || true
      REP="$rep" run_bench "$kind" "put $mode" "$EPLIST" put --val-size "$VAL_SIZE" --total "$TOTAL" --clients "$CLIENTS" --conns 8 "${user[@]}"
      REP="$rep" run_bench "$kind" "range-l $mode" "$EPLIST" range --consistency l --total "$TOTAL" --clients "$CLIENTS" --conns 8 "${user[@]}"
      stop_members
    done
  done
done

echo
echo "3-member clusters; clients=$CLIENTS conns=8 total=$TOTAL key-size=$KEY_SIZE val-size=$VAL_SIZE key-space=$KEY_SPACE transport=$TRANSPORT reps=$REPS"
node - "$RESULTS" <<'JS'
const rows = require('node:fs').readFileSync(process.argv[2], 'utf8').trim().split('\n').map(JSON.parse)
  .filter((r) => r.summary && !r.label.startsWith('warm'));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const servers = [...new Set(rows.map((r) => r.server))];
const labels = [...new Set(rows.map((r) => r.label))];
console.log(['label', ...servers.flatMap((s) => [`${s} req/s (runs)`, `${s} p99 ms`])].join(' | '));
for (const l of labels) {
  const cells = servers.flatMap((s) => {
    const rs = rows.filter((r) => r.server === s && r.label === l);
    const tput = rs.map((r) => r.summary.requestsPerSec);
    const p99 = rs.map((r) => r.summary.latencyMs.p99);
    return [`${median(tput).toFixed(0)} (${tput.map((x) => x.toFixed(0)).join(', ')})`, median(p99).toFixed(1)];
  });
  console.log([l, ...cells].join(' | '));
}
JS
