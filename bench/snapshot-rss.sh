#!/usr/bin/env bash
# Peak RSS and time of Maintenance.Snapshot on a large store (issue #16: a 1 GiB
# store must not grow the member's RSS by more than 64 MiB while it streams).
# One member of ours; N keys of VAL_SIZE random bytes; RSS sampled every 50 ms
# from /proc while `etcdctl snapshot save` runs, and for as long while idle
# before it (the noise floor); then `etcdctl snapshot status` of the file.
#
#   N=100000 VAL_SIZE=10000 PORT_LO=21000 PORT_HI=23999 bench/snapshot-rss.sh
#
# Environment: N (100000), VAL_SIZE (10000), CLIENTS (64), CONNS (8), KEY_SIZE (32),
# WRITER=1 (a put load runs during the snapshot; WRITER_SECS of it alone are
# measured first), RESTART=1 (restart the member
# after the load, as after a reboot), SERVER=etcd-ts|etcd-ts-base|etcd (which
# server: etcd-ts-base runs the build in BASE; etcd is the reference), KEEP=1,
# SKIP_BUILD=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-100000}"
VAL_SIZE="${VAL_SIZE:-10000}"
CLIENTS="${CLIENTS:-64}"
CONNS="${CONNS:-8}"
KEY_SIZE="${KEY_SIZE:-32}"
KEY_SPACE="$N"
SERVER="${SERVER:-etcd-ts}"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init etcd-ts-snapshot-rss

# Anonymous memory (heap, buffers) apart from file pages: LevelDB reads its tables
# through mmap, so every table a scan touches counts in VmRSS as RssFile (page
# cache the kernel can drop), which says nothing about the member's own memory.
rss() { awk '/^VmRSS:/ {printf "%.0f\n", $2 * 1024}' "/proc/$1/status"; }
anon() { awk '/^RssAnon:/ {printf "%.0f\n", $2 * 1024}' "/proc/$1/status"; }
file() { awk '/^RssFile:/ {printf "%.0f\n", $2 * 1024}' "/proc/$1/status"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }

# peak_while PID CMD...: runs CMD, sampling PID's memory; prints "peakRSS peakAnon seconds peakFile".
peak_while() {
  local pid="$1" peak=0 apeak=0 fpeak=0 r a f t0 t1; shift
  t0="$(date +%s.%N)"
  "$@" >/dev/null 2>&1 &
  local job=$!
  while kill -0 "$job" 2>/dev/null; do
    r="$(rss "$pid")"; (( r > peak )) && peak="$r"
    a="$(anon "$pid")"; (( a > apeak )) && apeak="$a"
    f="$(file "$pid")"; (( f > fpeak )) && fpeak="$f"
    sleep 0.05
  done
  wait "$job"
  t1="$(date +%s.%N)"
  echo "$peak $apeak $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') $fpeak"
}

start_single "$SERVER" --quota-backend-bytes=8589934592
pid="$LAST_PID"
run_bench "$SERVER" "put ${N} keys of ${VAL_SIZE} B" "$EP" put --sequential-keys --val-size "$VAL_SIZE" \
  --clients "$CLIENTS" --conns "$CONNS" --total "$N" --timeout 60000
if [[ "${RESTART:-0}" == 1 ]]; then
  # A restarted member rebuilds its key index by reading every revision, which
  # maps the tables as a snapshot's scan does: the snapshot then adds little RSS.
  stop_members
  start_single "$SERVER" --quota-backend-bytes=8589934592
  pid="$LAST_PID"
fi
sleep 5
base="$(rss "$pid")"; abase="$(anon "$pid")"; fbase="$(file "$pid")"
if [[ "$SERVER" == etcd ]]; then
  db_bytes="$(stat -c %s "$WORK/etcd/data/member/snap/db")"
else
  db_bytes="$(du -sb --exclude=wal --exclude=snap "$WORK/$SERVER/data/member" | awk '{print $1}')"
fi
read -r idle_peak idle_apeak _ idle_fpeak < <(peak_while "$pid" sleep 10)
if [[ "${WRITER:-0}" == 1 ]]; then
  "${BENCH[@]}" put --endpoints "$EP" --key-size "$KEY_SIZE" --key-space "$KEY_SPACE" --val-size 256 \
    --clients 16 --conns 4 --total 100000000 --no-progress >/dev/null 2>&1 &
  BENCH_PID=$!
  sleep 3
  # What the writer alone does to memory over as long as a snapshot takes (its
  # entries stay in the in-memory Raft log until --snapshot-count): the baseline
  # the snapshot's figure is compared with.
  wbase="$(rss "$pid")"; wabase="$(anon "$pid")"
  read -r w_peak w_apeak _ < <(peak_while "$pid" sleep "${WRITER_SECS:-60}")
  printf 'writer alone for %s s: RSS +%s MiB, RssAnon +%s MiB\n' "${WRITER_SECS:-60}" "$(mib $((w_peak - wbase)))" "$(mib $((w_apeak - wabase)))"
  base="$(rss "$pid")"; abase="$(anon "$pid")"; fbase="$(file "$pid")"
fi
cpu0="$(cpu_ticks "$pid")"
echo "load: $(uptime)"
read -r snap_peak snap_apeak secs snap_fpeak < <(peak_while "$pid" sh -c 'ETCDCTL_API=3 exec etcdctl --endpoints="$1" snapshot save "$2" >"$3" 2>&1' _ "$EP" "$WORK/snap.db" "$WORK/save.log")
# (A failed etcdctl leaves only snap.db.part; the process substitution's status is not seen here.)
[[ -s "$WORK/snap.db" ]] || { echo "snapshot save failed:"; cat "$WORK/save.log"; tail -5 "$WORK/$SERVER/server.log"; exit 1; }
cpu1="$(cpu_ticks "$pid")"
stop_pid "$BENCH_PID"; BENCH_PID=""
size="$(stat -c %s "$WORK/snap.db")"
status="$(ETCDCTL_API=3 etcdctl snapshot status "$WORK/snap.db" -w json)"
printf 'server %s; ' "$SERVER"
printf 'store (LevelDB, without WAL; etcd: its db) %s MiB; snapshot %s MiB in %s s (%s MiB/s)\n' "$(mib "$db_bytes")" "$(mib "$size")" "$secs" \
  "$(awk -v s="$size" -v t="$secs" 'BEGIN {printf "%.1f", s / 1048576 / t}')"
printf 'RSS before %s MiB; peak idle (10 s) %s MiB (+%s); peak during snapshot %s MiB (+%s)\n' \
  "$(mib "$base")" "$(mib "$idle_peak")" "$(mib $((idle_peak - base)))" "$(mib "$snap_peak")" "$(mib $((snap_peak - base)))"
printf 'RssAnon before %s MiB; peak idle %s MiB (+%s); peak during snapshot %s MiB (+%s)\n' \
  "$(mib "$abase")" "$(mib "$idle_apeak")" "$(mib $((idle_apeak - abase)))" "$(mib "$snap_apeak")" "$(mib $((snap_apeak - abase)))"
printf 'RssFile before %s MiB; peak idle %s MiB (+%s); peak during snapshot %s MiB (+%s)\n' \
  "$(mib "$fbase")" "$(mib "$idle_fpeak")" "$(mib $((idle_fpeak - fbase)))" "$(mib "$snap_fpeak")" "$(mib $((snap_fpeak - fbase)))"
printf 'member CPU during the snapshot: %s s\n' "$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz}')"
echo "etcdctl snapshot status: $status"
