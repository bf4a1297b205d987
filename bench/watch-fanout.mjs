// The watch fan-out of one member, in process: the WatchHub and the Watch
// service of the build under ROOT (a checkout with dist/ built), 4 streams of
// 100 watchers each on one prefix (the leader's share in run-table's watch
// row), a put's event delivered as the store's commit listener does, then one
// turn for the streams to write. The streams' calls are fakes that count the
// bytes written. Prints CPU µs per put (process CPU, after 2,000 puts of
// warm-up), or with MODE=heap the JS heap bytes allocated per put (sampling
// heap profiler keeping what GC collected) and the top allocation sites.
// Compare two builds in alternating runs, with bin/etcd-ts's V8 flags:
//   node --max-semi-space-size=4 --heap-growing-percent=100 bench/watch-fanout.mjs /path/to/checkout [puts]
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import inspector from 'node:inspector';
const require = createRequire(import.meta.url);
const promClient = require('prom-client');
const pino = require('pino');
const root = process.argv[2];
const PUTS = Number(process.argv[3] || 3000);
const { WatchHub } = await import(`${root}/dist/src/mvcc/index.js`);
const { watchService } = await import(`${root}/dist/src/server/api/watch.js`);

let listener;
let rev = 1;
const store = { onEvents(l) { listener = l; return () => {}; }, currentRevision: () => rev, compactRevision: () => 0 };
const hub = new WatchHub(store);
const gauge = new promClient.Gauge({ name: 'b', help: 'b' });
const svc = watchService({ watchHub: hub, metrics: { watchStreams: { inc() {}, dec() {} }, watchBufferedBytes: gauge }, onStop() {} },
  { memberId: 0x8e9e05c52164694dn, clusterId: 0xfedcba9876543210n, leader: 1n, term: 3, header: () => ({}) },
  { maxRequestBytes: 1.5 * 1024 * 1024, electionMs: 1000, watchProgressNotifyIntervalMs: 600000 }, pino({ level: 'silent' }));
let bytesOut = 0;
const calls = [];
for (let s = 0; s < 4; s++) {
  const call = Object.assign(new EventEmitter(), {
    metadata: { get: () => [] },
    writeFramed(b) { bytesOut += b.length; return true; },
    pause() {}, resume() {}, fail() {},
  });
  svc.Watch(call);
  for (let w = 0; w < 100; w++) call.emit('data', { createRequest: { key: Buffer.from('w/'), rangeEnd: Buffer.from('w0'), startRevision: 0n, filters: [], progressNotify: false, prevKv: false, fragment: false, watchId: 0n } });
  calls.push(call);
}
const tick = () => new Promise((r) => setImmediate(r));
await tick();
const value = Buffer.alloc(64);
async function run(n) {
  for (let i = 0; i < n; i++) {
    rev++;
    const key = Buffer.from(`w/${String(i % 10000).padStart(6, '0')}`);
    listener([{ type: 'PUT', kv: { key, value, createRevision: rev, modRevision: rev, version: 1, lease: 0n } }], rev);
    await tick();
  }
}
await run(2000); // warm
const session = new inspector.Session();
session.connect();
const post = (m, p = {}) => new Promise((ok, no) => session.post(m, p, (e, r) => (e ? no(e) : ok(r))));
const MODE = process.env.MODE || 'cpu';
if (MODE === 'heap') {
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await run(PUTS);
  const { profile } = await post('HeapProfiler.stopSampling');
  let total = 0;
  const walk = (n) => { for (const s of n.selfSize !== undefined ? [n] : []) total += s.selfSize; for (const c of n.children) walk(c); };
  walk(profile.head);
  console.log(JSON.stringify({ root, puts: PUTS, bytesPerPut: Math.round(total / PUTS) }));
  const by = new Map();
  const walk2 = (n, stack) => { const name = `${n.callFrame.functionName || '(anon)'}@${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`; const st = [name, ...stack].slice(0, 3); if (n.selfSize) by.set(st.join(' < '), (by.get(st.join(' < ')) || 0) + n.selfSize); for (const c of n.children) walk2(c, [name, ...stack]); };
  walk2(profile.head, []);
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(String(Math.round(v / PUTS)).padStart(8), k);
} else {
  const b0 = bytesOut;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await run(PUTS);
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify({ root, puts: PUTS, cpuUsPerPut: Math.round((c.user + c.system) / PUTS), wallUsPerPut: Math.round((performance.now() - t0) * 1000 / PUTS), outBytesPerPut: Math.round((bytesOut - b0) / PUTS) }));
}
process.exit(0);
