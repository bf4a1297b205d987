// CPU per applied put entry: the applier and MVCC store (LevelDB in a temp dir)
// of the build under ROOT (a checkout with dist/ built), fed entries made as a
// leader makes its proposals (encodeInternalRequestRaw with a 64-bit request id),
// 256 entries per push, 8 B keys over 10,000, 256 B values. Process CPU (every
// thread: LevelDB flushes included) per entry. Compare two builds in
// alternating runs, with bin/etcd-ts's V8 flags:
//   node --max-semi-space-size=4 --heap-growing-percent=100 bench/apply-cpu.mjs /path/to/checkout [entries]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
const root = process.argv[2];
const N = Number(process.argv[3] ?? 200000);
const { MvccStore } = await import(`${root}/dist/src/mvcc/index.js`);
const { Applier } = await import(`${root}/dist/src/server/apply/index.js`);
const { Membership } = await import(`${root}/dist/src/server/membership.js`);
const { Lessor, toLeaseId } = await import(`${root}/dist/src/lease/index.js`);
const { encodeInternalRequestRaw, INTERNAL_FIELD, messageCodec } = await import(`${root}/dist/src/pb/index.js`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apply-bench-'));
const store = await MvccStore.open(dir);
const lessor = new Lessor({ clock: { now: () => 1e6 }, storage: { put() {}, delete() {} }, minTtl: 1 });
store.setLeaseChecker((l) => lessor.has(toLeaseId(l)));
let delivered = 0;
const hooks = { applyConfChange: () => ({}), membersChanged() {}, deliver() { delivered++; }, applied() {}, termStarted() {}, fatal(f) { throw f; } };
const applier = new Applier(store, new Membership(1n, 1n), lessor, hooks);
const putCodec = messageCodec('etcdserverpb.PutRequest');
const value = Buffer.alloc(256, 7);
const base = 0x7a88eebafd23e9d9n;
let index = store.consistentIndex();
function entries(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    index++;
    const key = Buffer.from(String(index % 10000).padStart(8, '0'));
    const raw = putCodec.encode({ key, value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });
    out.push({ term: 1, index, type: 0, data: encodeInternalRequestRaw(base + BigInt(index), INTERNAL_FIELD.put, raw) });
  }
  return out;
}
// warm-up
for (let i = 0; i < 100; i++) { applier.push(entries(256)); await applier.drained(); }
const batches = [];
for (let i = 0; i < N / 256; i++) batches.push(entries(256));
const c0 = process.cpuUsage();
for (const b of batches) { applier.push(b); await applier.drained(); }
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ root, entries: N, cpuUsPerEntry: +((c.user + c.system) / N).toFixed(2), delivered }));
await store.close?.();
fs.rmSync(dir, { recursive: true, force: true });
