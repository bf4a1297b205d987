#!/usr/bin/env bash
# Put and range throughput over client TLS: one single-member etcd-ts and one
# single-member etcd (3.4), each serving https:// with a server certificate and
# --client-cert-auth (certificates made at run time by dist/bench/pki.js), driven
# by the same load (the load generator with --cacert --cert --key). ROUNDS
# alternating pairs (etcd-ts, etcd, etcd-ts, etcd, …), each member fresh; the
# table shows every round, the medians are for the report. PLAIN=1 adds a
# plaintext etcd-ts run per round (the cost of TLS itself).
#
# Environment: ROUNDS (3), CLIENTS (16), CONNS (4), PUT_TOTAL (20000),
# RANGE_TOTAL (20000), KEY_SIZE (8), VAL_SIZE (256), KEY_SPACE (10000),
# TRANSPORT (h2 | grpc: raw speaks no TLS), WARMUP_TOTAL (10000), KEEP, SKIP_BUILD, ETCD_BIN.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-3}"
CLIENTS="${CLIENTS:-16}"
CONNS="${CONNS:-4}"
PUT_TOTAL="${PUT_TOTAL:-20000}"
RANGE_TOTAL="${RANGE_TOTAL:-20000}"
KEY_SIZE="${KEY_SIZE:-8}"
VAL_SIZE="${VAL_SIZE:-256}"
KEY_SPACE="${KEY_SPACE:-10000}"

# The load generator dials TLS here, which only its h2 and grpc clients do.
TRANSPORT="${TRANSPORT:-h2}"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-tls-compare
PKI="$WORK/pki"
mkdir -p "$PKI"
node "$ROOT/dist/bench/pki.js" "$PKI"
CTL_TLS=(--cacert "$PKI/ca.pem" --cert "$PKI/client.pem" --key "$PKI/client-key.pem")

# start_tls KIND PLAIN(0|1): one member in $WORK/KIND-rR; sets EP and LAST_PID.
start_tls() {
  local kind="$1" plain="$2" cport pport dir scheme=https tlsflags=()
  [[ "$plain" == 1 ]] && scheme=http
  [[ "$plain" == 1 ]] || tlsflags=(--cert-file "$PKI/server.pem" --key-file "$PKI/server-key.pem" --trusted-ca-file "$PKI/ca.pem" --client-cert-auth)
  alloc_port; cport="$PORT"
  alloc_port; pport="$PORT"
  dir="$WORK/$kind-$scheme-r$REP"
  start_member "$kind" "$dir" --name bench --data-dir "$dir/data" \
    --listen-client-urls "$scheme://127.0.0.1:$cport" --advertise-client-urls "$scheme://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "bench=http://127.0.0.1:$pport" "${tlsflags[@]}"
  local deadline=$((SECONDS + 30))
  until etcdctl --endpoints "$scheme://127.0.0.1:$cport" "${CTL_TLS[@]}" --command-timeout=2s endpoint health >/dev/null 2>&1; do
    if ((SECONDS > deadline)) || ! kill -0 "$LAST_PID" 2>/dev/null; then tail -20 "$dir/server.log" >&2; return 1; fi
    sleep 0.2
  done
  EP="127.0.0.1:$cport"
}

# The load generator's TLS flags ride on BENCH (run_bench and warm_up use it).
PLAIN_BENCH=("${BENCH[@]}")
TLS_BENCH=("${BENCH[@]}" "${CTL_TLS[@]}")
servers="etcd-ts etcd"
[[ "${PLAIN:-0}" == 1 ]] && servers="etcd-ts etcd etcd-ts-plain"
for REP in $(seq 1 "$ROUNDS"); do
  export REP
  for kind in $servers; do
    plain=0; bin="$kind"
    if [[ "$kind" == etcd-ts-plain ]]; then plain=1; bin=etcd-ts; BENCH=("${PLAIN_BENCH[@]}"); else BENCH=("${TLS_BENCH[@]}"); fi
    start_tls "$bin" "$plain"
    warm_up "$kind" "$EP" put range-l
    CPU_PIDS="$LAST_PID" run_bench "$kind" "put r$REP" "$EP" put --clients "$CLIENTS" --conns "$CONNS" --total "$PUT_TOTAL" --val-size "$VAL_SIZE"
    CPU_PIDS="$LAST_PID" run_bench "$kind" "range r$REP" "$EP" range --clients "$CLIENTS" --conns "$CONNS" --total "$RANGE_TOTAL" --consistency l
    stop_members
  done
done

echo
echo "client TLS (--client-cert-auth), transport=$TRANSPORT clients=$CLIENTS conns=$CONNS val-size=$VAL_SIZE key-space=$KEY_SPACE rounds=$ROUNDS"
TABLE_METRICS="req/s p50 p99" print_table
node - "$RESULTS" <<'JS'
const rows = require('node:fs').readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.summary);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
for (const w of ['put', 'range']) {
  for (const sv of [...new Set(rows.map((r) => r.server))]) {
    const rs = rows.filter((r) => r.server === sv && r.label.startsWith(w + ' '));
    const rps = rs.map((r) => r.summary.requestsPerSec);
    console.log(`median ${w} ${sv}: ${Math.round(median(rps))} req/s (runs: ${rps.map(Math.round).join(', ')}), server CPU per 1k req: ${(median(rs.map((r) => r.cpuSec / r.summary.total)) * 1000).toFixed(3)} s`);
  }
}
JS
