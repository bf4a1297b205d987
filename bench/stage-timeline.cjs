// Lines up the stage traces (src/util/stage-trace.ts) of a 3-member cluster's
// members into one timeline per request. Run the members with
// ETCDTS_STAGE_TRACE=<dir> (bench/profile-cluster.sh passes the environment
// on), e.g. one client on one connection to the leader:
//
//   ETCDTS_STAGE_TRACE=/tmp/st SERVERS=etcd-ts PROFILE=0 PROF_CLIENTS=1 PROF_CONNS=1 \
//     PROF_TOTAL=3000 bench/profile-cluster.sh
//   node bench/stage-timeline.cjs /tmp/st 2990          # the last 2990 requests but one
//   node bench/stage-timeline.cjs /tmp/st 20000 --counts  # stages per applied entry (any load)
//   node bench/stage-timeline.cjs /tmp/st 9990 --probe /tmp/stalls  # and wake-probe.py --stalls' output
//
// or through a follower (PROF_VIA=follower; the member that took the client's
// requests is found by itself: the one with the last 'rx').
//
// Timeline (1 client: requests one at a time, each from its arrival at the
// member the client talks to, 'rx', to the next one's): for every stage, µs after
// 'rx' on the leader ("L") and the followers ("F0", "F1"; through a follower: "E"
// for the one the client talks to, "O" for the other; their clocks are the same
// machine's, through performance.timeOrigin), p10/p50/p90/p99/mean; then the
// critical path as segments (mean, p50, p90, p99), how many requests met a GC
// pause on some member, and the slowest 1% of requests (by the response's
// stream close) segment by segment against all requests: where a tail request's
// extra time went. With --probe, the output of `bench/wake-probe.py --stalls`
// run beside the cluster: how many of those slowest requests had a gap of over a millisecond in
// which no member recorded anything, and how many of those gaps overlap a stall
// of the probe (a process that only sleeps and wakes), against how many would by
// chance (the probe's stalls shifted by 37.3 ms).
'use strict';
const fs = require('node:fs');

const args = process.argv.slice(2);
const probeAt = args.indexOf('--probe');
const probeFile = probeAt >= 0 ? args.splice(probeAt, 2)[1] : undefined;
const [dir, nArg, flag] = args;
if (!dir) {
  console.error('usage: node bench/stage-timeline.cjs DIR [N] [--counts] [--probe STALLS]');
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
// A path: which member is which, the stages to find in each request's window
// ([key, member, stage name, key of the stage it follows, or none: the request's
// arrival]), and the critical path's segments ([label, from key or keys (the
// latest of them), to key]; a from of null is the arrival).
const lastRx = (m) => m.ev.reduce((t, e) => (e.n === 'rx' ? e.t : t), -Infinity);
const entry = members.reduce((a, b) => (lastRx(a) >= lastRx(b) ? a : b));
// The leader sends the appends; a trace without transport stages has only the entry member's.
const leader = members.reduce((a, b) => (b.count('tx-app') > a.count('tx-app') ? b : a), entry);
const viaFollower = entry !== leader;
const others = members.filter((m) => m !== leader && m !== entry);
// The member that took the request, from its apply to the stream's close.
const answerSegments = (m, label) => [
  [`${label}applied → proposer resumed`, `${m} deliver`, `${m} resumed`],
  [`${label}resumed → response submitted`, `${m} resumed`, `${m} finish`],
  [`${label}submitted → trailers (HTTP/2 writes)`, `${m} finish`, `${m} trailers`],
  [`${label}trailers → stream closed`, `${m} trailers`, `${m} close`],
];
const FOLLOWER_APPEND = ['ready-ent', 'save', 'wal-w', 'wal-wd', 'saved', 'tx-resp', 'sock-w', 'rx-app0', 'ready-com'];
const path = viaFollower
  ? {
      roles: { E: entry, L: leader, O: others[0] },
      stages: [
        ...['propose', 'tx-2', 'rx-app'].map((n) => [`E ${n}`, 'E', n]),
        ...['ready-ent', 'wal-w', 'wal-wd', 'saved', 'tx-resp', 'rx-app0', 'ready-com', 'deliver'].map((n) => [`E ${n}`, 'E', n, 'E rx-app']),
        ...['resumed', 'finish', 'trailers', 'close'].map((n) => [`E ${n}`, 'E', n]),
        ['L rx-2', 'L', 'rx-2', 'E tx-2'],
        ...['ready-ent', 'tx-app', 'wal-w', 'wal-wd', 'saved', 'rx-resp', 'early-com', 'ready-com', 'tx-app0', 'deliver'].map((n) => [`L ${n}`, 'L', n, 'L rx-2']),
        ['O rx-app', 'O', 'rx-app', 'L tx-app'],
        ...['wal-w', 'wal-wd', 'tx-resp'].map((n) => [`O ${n}`, 'O', n, 'O rx-app']),
      ],
      segments: [
        ['E: rx → proposal forwarded', null, 'E tx-2'],
        ['forward → leader stepped it', 'E tx-2', 'L rx-2'],
        ['L: stepped → MsgApp sent', 'L rx-2', 'L tx-app'],
        ['L: own WAL write (O_DSYNC)', 'L wal-w', 'L wal-wd'],
        ['MsgApp sent → E stepped it', 'L tx-app', 'E rx-app'],
        ['E: stepped → own WAL write done', 'E rx-app', 'E wal-wd'],
        ['E: WAL write done → ack sent', 'E wal-wd', 'E tx-resp'],
        ['MsgApp sent → O stepped it', 'L tx-app', 'O rx-app'],
        ['O: stepped → ack sent', 'O rx-app', 'O tx-resp'],
        ['L: MsgApp sent → first ack stepped', 'L tx-app', 'L rx-resp'],
        ['L: max(own save, first ack) → notice sent', ['L saved', 'L rx-resp'], 'L tx-app0'],
        ['notice sent → E stepped it', 'L tx-app0', 'E rx-app0'],
        ['E: notice → Ready with commit', 'E rx-app0', 'E ready-com'],
        ['E: Ready with commit → applied', 'E ready-com', 'E deliver'],
        ...answerSegments('E', 'E: '),
      ],
      close: 'E close',
    }
  : {
      roles: { L: leader, F0: others[0], F1: others[1] },
      stages: [
        ...['propose', 'ready-ent', 'tx-app', 'save', 'sock-w', 'wal-w', 'wal-wd', 'saved', 'rx-resp', 'ready-com', 'tx-app0', 'deliver', 'resumed', 'finish', 'trailers', 'close'].map((n) => [`L ${n}`, 'L', n]),
        ...['F0', 'F1'].flatMap((f) => [[`${f} rx-app`, f, 'rx-app'], ...FOLLOWER_APPEND.map((n) => [`${f} ${n}`, f, n, `${f} rx-app`])]),
      ],
      segments: [
        ['rx → propose', null, 'L propose'],
        ['propose → Ready with the entry', 'L propose', 'L ready-ent'],
        ['Ready → MsgApp socket write', 'L ready-ent', 'L sock-w'],
        ['MsgApp write → own WAL write submitted', 'L sock-w', 'L wal-w'],
        ['own WAL write (O_DSYNC)', 'L wal-w', 'L wal-wd'],
        ['MsgApp write → first ack stepped', 'L sock-w', 'L rx-resp'],
        ['max(own save, first ack) → Ready with commit', ['L saved', 'L rx-resp'], 'L ready-com'],
        ['Ready with commit → applied', 'L ready-com', 'L deliver'],
        ...answerSegments('L', ''),
      ],
      close: 'L close',
    };

const rxAt = entry.ev.filter((e) => e.n === 'rx').map((e) => e.t);
const from = Math.max(0, rxAt.length - N - 1);
const rows = {};
const add = (k, v) => {
  if (v !== undefined && Number.isFinite(v)) (rows[k] ??= []).push(v);
};
const requests = [];
for (let k = from; k < rxAt.length - 1; k++) {
  const t0 = rxAt[k];
  const t1 = rxAt[k + 1];
  const win = {};
  for (const [role, m] of Object.entries(path.roles)) if (m) win[role] = between(m.ev, t0, t1);
  const at = {};
  for (const [key, role, name, after] of path.stages) {
    const since = after === undefined ? t0 : at[after] === undefined ? undefined : t0 + at[after] / 1000;
    if (since === undefined || !win[role]) continue;
    const e = win[role].find((x) => x.n === name && x.t >= since);
    if (e) add(key, (at[key] = (e.t - t0) * 1000));
  }
  add(`${viaFollower ? 'E' : 'L'} next request`, (t1 - t0) * 1000);
  const seg = {};
  for (const [label, a, b] of path.segments) {
    const start = a === null ? 0 : Array.isArray(a) ? Math.max(...a.map((x) => at[x] ?? NaN)) : at[a];
    if (start !== undefined && at[b] !== undefined && Number.isFinite(start)) seg[label] = at[b] - start;
  }
  if (at[path.close] !== undefined) seg['stream closed → next request (client)'] = (t1 - t0) * 1000 - at[path.close];
  seg['= request to request'] = (t1 - t0) * 1000;
  const gc = members.some((M) => between(M.ev, t0, t1).some((e) => e.n === 'gc-start' || e.n === 'gc-end'));
  requests.push({ t0, t1, seg, close: at[path.close], gc });
}

const roleNames = Object.entries(path.roles).filter(([, m]) => m).map(([r, m]) => `${r} ${m.f}`).join(', ');
console.log(`${viaFollower ? 'through a follower' : 'through the leader'}: ${roleNames}; ${requests.length} requests; ${requests.filter((r) => r.gc).length} met a GC pause on some member`);
console.log(`${'stage (µs after rx)'.padEnd(34)}     n    p10    p50    p90    p99   mean`);
for (const k of Object.keys(rows).sort((a, b) => pct(rows[a], 0.5) - pct(rows[b], 0.5))) {
  const a = rows[k];
  console.log(`${k.padEnd(34)}${String(a.length).padStart(6)}${[0.1, 0.5, 0.9, 0.99].map((p) => pct(a, p).toFixed(0).padStart(7)).join('')}${mean(a).toFixed(0).padStart(7)}`);
}
const segOf = (rs, label) => rs.map((r) => r.seg[label]).filter((v) => v !== undefined);
const labels = [...path.segments.map(([l]) => l), 'stream closed → next request (client)', '= request to request'];
console.log(`\n${'segment (µs)'.padEnd(46)}  mean    p50    p90    p99`);
for (const l of labels) {
  const a = segOf(requests, l);
  if (a.length) console.log(`${l.padEnd(46)}${mean(a).toFixed(0).padStart(6)}${[0.5, 0.9, 0.99].map((p) => pct(a, p).toFixed(0).padStart(7)).join('')}`);
}
// The slowest 1% by the time to the response's stream close: each segment's mean
// there against its mean over all requests; the difference is where their extra
// time went (segments that overlap, such as the two WAL writes, each show theirs).
const closed = requests.filter((r) => r.close !== undefined).sort((a, b) => b.close - a.close);
const slow = closed.slice(0, Math.max(1, Math.round(closed.length / 100)));
console.log(`\nslowest ${slow.length} by stream close (${slow[slow.length - 1].close.toFixed(0)}–${slow[0].close.toFixed(0)} µs; p50 of all ${pct(closed.map((r) => r.close), 0.5).toFixed(0)}); ${slow.filter((r) => r.gc).length} met a GC pause`);
console.log(`${'segment (µs)'.padEnd(46)}   all   slow  extra`);
for (const l of labels) {
  const a = segOf(requests, l);
  const b = segOf(slow, l);
  if (a.length && b.length) console.log(`${l.padEnd(46)}${mean(a).toFixed(0).padStart(6)}${mean(b).toFixed(0).padStart(7)}${(mean(b) - mean(a)).toFixed(0).padStart(7)}`);
}

if (probeFile) {
  // One "unix-ms overshoot-µs" line per stall of the probe: its sleep began at
  // unix-ms and ended overshoot µs later than asked (it asks for PROBE_SLEEP_MS).
  const PROBE_SLEEP_MS = 0.2;
  const stalls = fs
    .readFileSync(probeFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').map(Number))
    .map(([t, over]) => [t, t + PROBE_SLEEP_MS + over / 1000]);
  const w0 = rxAt[from];
  const w1 = rxAt[rxAt.length - 1];
  const inWindow = stalls.filter(([a, b]) => a >= w0 && b <= w1);
  const stalled = inWindow.reduce((sum, [a, b]) => sum + (b - a - PROBE_SLEEP_MS), 0);
  const overlaps = (a, b, shift) => inWindow.some(([p, q]) => p + shift < b && q + shift > a);
  let gaps = 0;
  let hits = 0;
  let chance = 0;
  for (const r of slow) {
    const ev = members.flatMap((m) => between(m.ev, r.t0, r.t1)).sort((x, y) => x.t - y.t);
    let gap;
    for (let i = 1; i < ev.length; i++) if (!gap || ev[i].t - ev[i - 1].t > gap[1] - gap[0]) gap = [ev[i - 1].t, ev[i].t];
    if (!gap || gap[1] - gap[0] < 1) continue;
    gaps++;
    if (overlaps(gap[0], gap[1], 0)) hits++;
    if (overlaps(gap[0], gap[1], 37.3)) chance++;
  }
  console.log(
    `\nprobe: ${inWindow.length} stalls in the ${((w1 - w0) / 1000).toFixed(1)} s window (${((100 * stalled) / (w1 - w0)).toFixed(2)}% of it); ` +
      `${gaps} of the slowest ${slow.length} had a gap over 1 ms with no member recording anything, ${hits} of those gaps overlap a probe stall (by chance: ${chance})`,
  );
}
