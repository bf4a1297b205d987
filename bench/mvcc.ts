// MVCC store micro-benchmark: puts/s, single-key gets/s and prefix ranges/s.
// Run: npx tsc -p . && node dist/bench/mvcc.js [puts]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MvccStore, SortOrder, SortTarget, type RangeRequest } from '../src/mvcc/index.js';

const N = Number(process.argv[2] ?? 100_000);
const te = new TextEncoder();

function key(i: number): Uint8Array {
  return te.encode('key/' + i.toString().padStart(12, '0')); // 16 bytes
}

function rangeReq(k: Uint8Array, end: Uint8Array, limit = 0): RangeRequest {
  return {
    key: k, rangeEnd: end, limit, revision: 0, sortOrder: SortOrder.None, sortTarget: SortTarget.Key,
    serializable: true, keysOnly: false, countOnly: false,
    minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mvcc-bench-'));
  const cacheBytes = Number(process.env.MVCC_CACHE_BYTES ?? 64 << 20);
  const store = await MvccStore.open(dir, { cacheBytes });
  console.log(`record cache: ${cacheBytes} bytes`);
  const value = new Uint8Array(256).fill(0x61);
  const keys = Array.from({ length: N }, (_, i) => key(i));

  let t0 = performance.now();
  for (let i = 0; i < N; i++) {
    await store.put({ key: keys[i]!, value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false }, i + 1);
  }
  let t1 = performance.now();
  console.log(`put (applied, in memory + batched): ${Math.round(N / ((t1 - t0) / 1000))} puts/s  (${N} puts, 16B keys, 256B values)`);
  await store.flush();
  const t2 = performance.now();
  console.log(`put (until durable in LevelDB):     ${Math.round(N / ((t2 - t0) / 1000))} puts/s`);

  // Random single-key gets, 64 in flight (as concurrent client requests would be).
  const G = Math.min(N, 100_000);
  t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < G) {
      const i = (next++ * 7919) % N;
      const r = await store.range(rangeReq(keys[i]!, new Uint8Array(0)));
      if (r.kvs.length !== 1) throw new Error('missing key');
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  t1 = performance.now();
  console.log(`get single key:                     ${Math.round(G / ((t1 - t0) / 1000))} ranges/s`);

  // Prefix ranges of 100 keys (limit 100 over a 1000-key prefix, like a paged list).
  const P = 5_000;
  t0 = performance.now();
  next = 0;
  const prefixWorker = async (): Promise<void> => {
    while (next < P) {
      const p = (next++ * 31) % Math.floor(N / 1000);
      const prefix = te.encode('key/' + p.toString().padStart(9, '0'));
      const end = prefix.slice(); end[end.length - 1]!++;
      const r = await store.range(rangeReq(prefix, end, 100));
      if (r.kvs.length !== 100 || r.count !== 1000) throw new Error(`bad prefix range ${r.kvs.length} ${r.count}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, prefixWorker));
  t1 = performance.now();
  console.log(`prefix range (100 of 1000 keys):    ${Math.round(P / ((t1 - t0) / 1000))} ranges/s`);

  t0 = performance.now();
  const all = await store.range({ ...rangeReq(te.encode('key/'), te.encode('key0')), countOnly: true });
  t1 = performance.now();
  console.log(`count-only over ${all.count} keys:        ${(t1 - t0).toFixed(1)} ms`);

  console.log(`db size: ${((await store.dbSize()) / 1e6).toFixed(1)} MB`);
  await store.close();
  await rm(dir, { recursive: true, force: true });
}

main().catch((err) => { console.error(err); process.exit(1); });
