// Lines up the stage traces (src/util/stage-trace.ts) of a 3-member cluster's
// members into one timeline per request. Run the members with
// ETCDTS_STAGE_TRACE=<dir> (bench/profile-cluster.sh passes the environment
// on), e.g. one client on one connection to the leader:
//
//   ETCDTS_STAGE_TRACE=/tmp/st SERVERS=etcd-ts PROFILE=0 PROF_CLIENTS=1 PROF_CONNS=1 \
//     PROF_TOTAL=3000 bench/profile-cluster.sh
//   node bench/stage-timeline.cjs /tmp/st 2990          # the last 2990 requests but one
//   node bench/stage-timeline.cjs /tmp/st 20000 --counts  # stages per applied entry (any load)
//
// Timeline (1 client: requests one at a time, each from its arrival at the
// leader, 'rx', to the next one's): for every stage, µs after 'rx' on the
// leader ("L") and on each follower ("F0", "F1"; their clocks are the same
// machine's, through performance.timeOrigin), p10/p50/p90/p99/mean; then the
// critical path as segments (mean, p50, p90, p99), and how many requests met a
// GC pause on some member.
'use strict';
const fs = require('node:fs');

const [dir, nArg, flag] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node bench/stage-timeline.cjs DIR [N] [--counts]');
  process.exit(2);
}
const N = Number(nArg || 2000);
const members = fs
  .readdirSync(dir)
  .filter((f) => /^stage-\d+\.json$/.test(f))
  .map((f) => {
    const j = JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8'));
    const ev = j.ev
      ? j.ev.split(';').map((s) => {
          const [c, t] = s.split(',');
          return { n: j.names[+c], t: +t + j.origin };
        })
      : [];
    ev.sort((a, b) => a.t - b.t);
    return { f, ev, count: (name) => ev.reduce((k, e) => k + (e.n === name ? 1 : 0), 0) };
  });
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;

if (flag === '--counts') {
  // Stages per applied entry over the last N applies ('deliver') of each member.
  for (const m of members) {
    const d = m.ev.filter((e) => e.n === 'deliver');
    const t0 = d[Math.max(0, d.length - N)]?.t ?? 0;
    const c = {};
    for (const e of m.ev) if (e.t >= t0) c[e.n] = (c[e.n] ?? 0) + 1;
    const per = Math.min(N, d.length) || 1;
    console.log(m.f, Object.keys(c).sort().map((k) => `${k}=${(c[k] / per).toFixed(3)}`).join(' '));
  }
  process.exit(0);
}

const leader = members.reduce((a, b) => (a.count('rx') >= b.count('rx') ? a : b));
const followers = members.filter((m) => m !== leader);
const lb = (ev, t) => {
  let lo = 0;
  let hi = ev.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ev[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};
const between = (ev, t0, t1) => {
  const out = [];
  for (let i = lb(ev, t0); i < ev.length && ev[i].t <= t1; i++) out.push(ev[i]);
  return out;
};
const rxAt = leader.ev.filter((e) => e.n === 'rx').map((e) => e.t);
const from = Math.max(0, rxAt.length - N - 1);
const rows = {};
const add = (k, v) => {
  if (v !== undefined && Number.isFinite(v)) (rows[k] ??= []).push(v);
};
const seg = {};
const addSeg = (k, v) => {
  if (v !== undefined && Number.isFinite(v)) (seg[k] ??= []).push(v);
};
let withGc = 0;
const LEADER_STAGES = ['propose', 'ready-ent', 'tx-app', 'save', 'sock-w', 'wal-w', 'wal-wd', 'saved', 'rx-resp', 'ready-com', 'tx-app0', 'deliver', 'resumed', 'finish', 'trailers', 'close'];
const FOLLOWER_STAGES = ['rx-app', 'ready-ent', 'save', 'wal-w', 'wal-wd', 'saved', 'tx-resp', 'sock-w', 'rx-app0', 'ready-com'];
for (let k = from; k < rxAt.length - 1; k++) {
  const t0 = rxAt[k];
  const t1 = rxAt[k + 1];
  const L = between(leader.ev, t0, t1);
  const st = {};
  for (const n of LEADER_STAGES) {
    const e = L.find((x) => x.n === n);
    st[n] = e ? (e.t - t0) * 1000 : undefined;
    add(`L ${n}`, st[n]);
  }
  add('L next request', (t1 - t0) * 1000);
  followers.forEach((F, i) => {
    const S = between(F.ev, t0, t1);
    const got = S.find((x) => x.n === 'rx-app');
    if (!got) return;
    for (const n of FOLLOWER_STAGES) {
      const e = S.find((x) => x.n === n && x.t >= got.t);
      add(`F${i} ${n}`, e ? (e.t - t0) * 1000 : undefined);
    }
  });
  if (members.some((M) => between(M.ev, t0, t1).some((e) => e.n === 'gc-start' || e.n === 'gc-end'))) withGc++;
  const d = (a, b) => (st[a] !== undefined && st[b] !== undefined ? st[b] - st[a] : undefined);
  addSeg('rx → propose', st.propose);
  addSeg('propose → Ready with the entry', d('propose', 'ready-ent'));
  addSeg('Ready → MsgApp socket write', d('ready-ent', 'sock-w'));
  addSeg('MsgApp write → own WAL write submitted', d('sock-w', 'wal-w'));
  addSeg('own WAL write (O_DSYNC)', d('wal-w', 'wal-wd'));
  addSeg('MsgApp write → first ack stepped', d('sock-w', 'rx-resp'));
  addSeg('max(own save, first ack) → Ready with commit', st['ready-com'] - Math.max(st.saved ?? 0, st['rx-resp'] ?? 0));
  addSeg('Ready with commit → applied', d('ready-com', 'deliver'));
  addSeg('applied → proposer resumed', d('deliver', 'resumed'));
  addSeg('resumed → response submitted', d('resumed', 'finish'));
  addSeg('submitted → trailers (HTTP/2 writes)', d('finish', 'trailers'));
  addSeg('trailers → stream closed', d('trailers', 'close'));
  addSeg('closed → next request (client)', st.close !== undefined ? (t1 - t0) * 1000 - st.close : undefined);
  addSeg('= request to request', (t1 - t0) * 1000);
}
const total = rxAt.length - 1 - from;
console.log(`leader ${leader.f}; ${total} requests; ${withGc} met a GC pause on some member`);
console.log(`${'stage (µs after rx at the leader)'.padEnd(34)}     n    p10    p50    p90    p99   mean`);
for (const k of Object.keys(rows).sort((a, b) => pct(rows[a], 0.5) - pct(rows[b], 0.5))) {
  const a = rows[k];
  console.log(`${k.padEnd(34)}${String(a.length).padStart(6)}${[0.1, 0.5, 0.9, 0.99].map((p) => pct(a, p).toFixed(0).padStart(7)).join('')}${mean(a).toFixed(0).padStart(7)}`);
}
console.log(`\n${'segment (µs)'.padEnd(46)}  mean    p50    p90    p99`);
for (const [k, a] of Object.entries(seg)) {
  console.log(`${k.padEnd(46)}${mean(a).toFixed(0).padStart(6)}${[0.5, 0.9, 0.99].map((p) => pct(a, p).toFixed(0).padStart(7)).join('')}`);
}
