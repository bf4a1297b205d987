import { afterEach, describe, expect, it } from 'vitest';
import { crc32c } from '../../src/util/crc32c.js';
import { MvccError, MvccStore } from '../../src/mvcc/index.js';
import { parseRevKey } from '../../src/mvcc/revision.js';
import { TmpStores, pr, rr, dr, kvt, keys, b } from './mvcc-helpers.js';

const t = new TmpStores();
afterEach(() => t.cleanup());

/** Revisions physically present in LevelDB, as "main.sub[t]". */
async function stored(s: MvccStore): Promise<string[]> {
  const ks = await s.backend.db.keys({ gte: new Uint8Array([0x6b]), lt: new Uint8Array([0x6c]) }).all();
  return ks.map((k) => { const r = parseRevKey(k); return `${r.main}.${r.sub}${r.tombstone ? 't' : ''}`; });
}

/** Closes LevelDB without flushing the write buffer: what a crash leaves behind. */
async function crash(s: MvccStore): Promise<void> {
  await s.backend.db.close();
}

const NOFLUSH = { flushIntervalMs: 3_600_000, flushMaxOps: 1_000_000 };

describe('mvcc reopen', () => {
  it('rebuilds the index with the same data, revisions and consistent index', async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    await s.put(pr('a', '1', { lease: 3n }), 1); // 2
    await s.put(pr('b', '1'), 2); // 3
    await s.put(pr('a', '2', { lease: 3n }), 3); // 4
    await s.deleteRange(dr('b'), 4); // 5
    await s.put(pr('b', 'again'), 5); // 6
    await s.deleteRange(dr('c'), 6); // no-op, ci 6
    s.setConsistentIndex(9);
    const before = await Promise.all([2, 3, 4, 5, 6].map((rev) => s.range(rr('\0', '\0', { revision: rev }))));
    await s.close();

    const r = await t.open(dir);
    expect(r.currentRevision()).toBe(6);
    expect(r.consistentIndex()).toBe(9);
    expect(r.compactRevision()).toBe(-1);
    const after = await Promise.all([2, 3, 4, 5, 6].map((rev) => r.range(rr('\0', '\0', { revision: rev }))));
    expect(after.map((x) => x.kvs.map(kvt))).toEqual(before.map((x) => x.kvs.map(kvt)));
    expect((await r.range(rr('\0', '\0'))).kvs.map(kvt)).toEqual([['a', '2', 2, 4, 2, 3n], ['b', 'again', 6, 6, 1, 0n]]);
    // writing continues from the restored revision and versions
    expect((await r.put(pr('a', '3'), 10)).revision).toBe(7);
    expect(await r.dbSize()).toBeGreaterThan(0);
    expect((await r.range(rr('a'))).kvs.map(kvt)).toEqual([['a', '3', 2, 7, 3, 0n]]);
  });

  it('a crash loses unflushed writes and their consistent index together', async () => {
    const dir = await t.dir();
    const s = await t.open(dir, NOFLUSH);
    await s.put(pr('a', '1'), 1);
    await s.put(pr('b', '1'), 2);
    await s.flush();
    await s.put(pr('a', '2'), 3);
    await s.txn({ compare: [], success: [{ put: pr('c', '1') }], failure: [] }, 4);
    s.setConsistentIndex(5);
    expect((await s.range(rr('\0', '\0'))).count).toBe(3); // visible before flush
    await crash(s);

    const r = await t.open(dir, NOFLUSH);
    expect(r.consistentIndex()).toBe(2);
    expect(r.currentRevision()).toBe(3);
    expect((await r.range(rr('\0', '\0'))).kvs.map(kvt)).toEqual([['a', '1', 2, 2, 1, 0n], ['b', '1', 3, 3, 1, 0n]]);
    // replaying entries 3..4 reproduces the same revisions
    expect((await r.put(pr('a', '2'), 3)).revision).toBe(4);
    expect((await r.txn({ compare: [], success: [{ put: pr('c', '1') }], failure: [] }, 4)).revision).toBe(5);
  });

  it('flushMaxOps triggers a flush without waiting for the timer', async () => {
    const dir = await t.dir();
    const s = await t.open(dir, { flushIntervalMs: 3_600_000, flushMaxOps: 10 });
    for (let i = 0; i < 25; i++) await s.put(pr('k' + i, 'v'), i + 1);
    await new Promise((r) => setTimeout(r, 50));
    expect((await stored(s)).length).toBeGreaterThanOrEqual(20);
  });
});

describe('mvcc compaction', () => {
  // a: 2 put, 3 put ; b: 4 put, 5 delete ; c: 6 put ; a: 7 put ; d: 8 put, 9 delete, 10 put
  async function history(s: MvccStore): Promise<void> {
    await s.put(pr('a', 'a2'), 1);
    await s.put(pr('a', 'a3'), 2);
    await s.put(pr('b', 'b4'), 3);
    await s.deleteRange(dr('b'), 4);
    await s.put(pr('c', 'c6'), 5);
    await s.put(pr('a', 'a7'), 6);
    await s.put(pr('d', 'd8'), 7);
    await s.deleteRange(dr('d'), 8);
    await s.put(pr('d', 'd10'), 9);
  }

  it('validates the revision', async () => {
    const s = await t.open();
    await history(s);
    const fut = await s.compact(11, 20).catch((e) => e);
    expect(fut).toBeInstanceOf(MvccError);
    expect(fut.message).toBe('mvcc: required revision is a future revision');
    await (await s.compact(5, 21)).done;
    expect(s.compactRevision()).toBe(5);
    for (const rev of [5, 4]) {
      const e = await s.compact(rev, 22).catch((x) => x);
      expect(e.message).toBe('mvcc: required revision has been compacted');
    }
    expect(s.consistentIndex()).toBe(22);
  });

  it('keeps the latest revision of each live key, drops deleted keys', async () => {
    const s = await t.open();
    await history(s);
    await (await s.compact(6, 20)).done;
    // ≤6: a@3 kept (latest ≤6), a@2 gone; b deleted at 5 ≤ 6 → gone entirely; c@6 kept
    expect(await stored(s)).toEqual(['3.0', '6.0', '7.0', '8.0', '9.0t', '10.0']);
    expect((await s.range(rr('\0', '\0', { revision: 6 }))).kvs.map(kvt)).toEqual([['a', 'a3', 2, 3, 2, 0n], ['c', 'c6', 6, 6, 1, 0n]]);
    expect((await s.range(rr('\0', '\0'))).kvs.map(kvt)).toEqual([['a', 'a7', 2, 7, 3, 0n], ['c', 'c6', 6, 6, 1, 0n], ['d', 'd10', 10, 10, 1, 0n]]);
    await (await s.compact(10, 21)).done;
    // d's first generation ended (tombstone 9 ≤ 10): gone
    expect(await stored(s)).toEqual(['6.0', '7.0', '10.0']);
    expect((await s.range(rr('\0', '\0', { revision: 10 }))).kvs.map(kvt)).toEqual([['a', 'a7', 2, 7, 3, 0n], ['c', 'c6', 6, 6, 1, 0n], ['d', 'd10', 10, 10, 1, 0n]]);
  });

  it('a key deleted at the compact revision vanishes; one deleted after it keeps its last value', async () => {
    const s = await t.open();
    await history(s);
    await (await s.compact(8, 20)).done;
    // d: put 8 kept (its generation ends at 9 > 8)
    expect(await stored(s)).toEqual(['6.0', '7.0', '8.0', '9.0t', '10.0']);
    expect(keys((await s.range(rr('\0', '\0', { revision: 8 }))).kvs)).toEqual(['a', 'c', 'd']);
    expect(keys((await s.range(rr('\0', '\0', { revision: 9 }))).kvs)).toEqual(['a', 'c']);
  });

  it('survives reopen', async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    await history(s);
    await (await s.compact(6, 20)).done;
    await s.close();
    const r = await t.open(dir);
    expect(r.compactRevision()).toBe(6);
    expect(r.currentRevision()).toBe(10);
    expect((await r.range(rr('a', '', { revision: 5 })).catch((e) => e)).code).toBe('compacted');
    expect((await r.range(rr('\0', '\0', { revision: 6 }))).kvs.map(kvt)).toEqual([['a', 'a3', 2, 3, 2, 0n], ['c', 'c6', 6, 6, 1, 0n]]);
    expect((await r.range(rr('\0', '\0'))).kvs.map(kvt)).toEqual([['a', 'a7', 2, 7, 3, 0n], ['c', 'c6', 6, 6, 1, 0n], ['d', 'd10', 10, 10, 1, 0n]]);
  });

  it('compacting at the newest revision, a delete: its tombstone stays, through a reopen, until the next compaction', async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    await s.put(pr('x', '1'), 1);
    await s.deleteRange(dr('x'), 2);
    await (await s.compact(3, 3)).done;
    expect(await stored(s)).toEqual(['3.0t']);
    const hash = await s.hashKV(3);
    await s.close();
    const r = await t.open(dir);
    expect(r.currentRevision()).toBe(3);
    expect(await r.hashKV(3)).toEqual(hash);
    expect((await r.range(rr('x'))).kvs).toEqual([]);
    expect((await r.put(pr('y', '1'), 5)).revision).toBe(4);
    await (await r.compact(4, 6)).done;
    expect(await stored(r)).toEqual(['4.0']);
  });

  it('a compaction at a delete interrupted after the older records of its key went: resumed, it still keeps the tombstone', async () => {
    const dir = await t.dir();
    const s = await t.open(dir, { compactBatchLimit: 1, compactSleepMs: 300 });
    await s.put(pr('x', '1'), 1); // rev 2
    await s.deleteRange(dr('x'), 2); // rev 3
    const { done } = await s.compact(3, 3);
    await new Promise((r) => setTimeout(r, 60)); // the first batch (2.0) deleted, sleeping
    await s.close();
    await done;
    const r = await t.open(dir, { compactBatchLimit: 1, compactSleepMs: 1 });
    const deadline = Date.now() + 3000;
    while ((await stored(r)).includes('2.0') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    await new Promise((res) => setTimeout(res, 50));
    expect(await stored(r)).toEqual(['3.0t']);
  });

  it('an interrupted physical compaction resumes at the next open', async () => {
    const dir = await t.dir();
    const s = await t.open(dir, { compactBatchLimit: 2, compactSleepMs: 200 });
    for (let i = 0; i < 10; i++) await s.put(pr('k', 'v' + i), i + 1); // revs 2..11
    const { done } = await s.compact(11, 20);
    await new Promise((r) => setTimeout(r, 60)); // first batch done, sleeping
    await s.close();
    await done;

    const r = await t.open(dir, { compactBatchLimit: 2, compactSleepMs: 1 });
    expect(r.compactRevision()).toBe(11);
    const mid = await stored(r);
    expect(mid.length).toBeLessThan(10); // first batch was deleted …
    expect(mid.length).toBeGreaterThan(1); // … but not all
    expect((await r.range(rr('k'))).kvs.map(kvt)).toEqual([['k', 'v9', 2, 11, 10, 0n]]);
    await r.compactionDone();
    expect(await stored(r)).toEqual(['11.0']);
    expect((await r.range(rr('k'))).kvs.map(kvt)).toEqual([['k', 'v9', 2, 11, 10, 0n]]);
  });

  it('an in-flight read keeps the revisions it looked up', async () => {
    const s = await t.open(undefined, { compactSleepMs: 0, cacheBytes: 0 });
    await s.put(pr('k', 'old'), 1); // 2
    await s.put(pr('k', 'new'), 2); // 3
    await s.flush();
    const read = s.range(rr('k', '', { revision: 2 }));
    const { done } = await s.compact(3, 3);
    await done;
    expect((await read).kvs.map(kvt)).toEqual([['k', 'old', 2, 2, 1, 0n]]);
    expect(await stored(s)).toEqual(['3.0']);
  });

  it('compacts unflushed revisions too', async () => {
    const s = await t.open(undefined, NOFLUSH);
    await s.put(pr('k', '1'), 1);
    await s.put(pr('k', '2'), 2);
    await (await s.compact(3, 3)).done;
    expect(await stored(s)).toEqual(['3.0']);
  });
});

describe('mvcc hashKV', () => {
  const enc = (parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());
  const etcdKey = (main: number, sub: number): number[] => [0, 0, 0, 0, 0, 0, 0, main, 0x5f, 0, 0, 0, 0, 0, 0, 0, sub];

  it('matches a hand-computed CRC-32C over etcd-format records', async () => {
    const s = await t.open();
    await s.put(pr('a', '1'), 1); // rev 2
    await s.deleteRange(dr('a'), 2); // rev 3, tombstone
    // mvccpb.KeyValue{key:"a", create:2, mod:2, version:1, value:"1"}
    const kv = [0x0a, 1, 0x61, 0x10, 2, 0x18, 2, 0x20, 1, 0x2a, 1, 0x31];
    const tomb = [0x0a, 1, 0x61];
    const want = crc32c(enc([[...b('key')], etcdKey(2, 0), kv, [...etcdKey(3, 0), 0x74], tomb])) >>> 0;
    const h = await s.hashKV(0);
    expect(h).toEqual({ hash: want, compactRevision: -1, revision: 3, hashRevision: 3 });
    const h2 = await s.hashKV(2);
    expect(h2.hash).toBe(crc32c(enc([[...b('key')], etcdKey(2, 0), kv])) >>> 0);
    expect(h2.revision).toBe(3);
  });

  it('after compaction only kept revisions below the compact point count', async () => {
    const s = await t.open();
    await s.put(pr('a', '1'), 1); // 2
    await s.put(pr('a', '2'), 2); // 3
    await s.put(pr('b', '1'), 3); // 4
    await s.deleteRange(dr('b'), 4); // 5
    await s.compact(5, 5); // physical deletion may still be running: must not matter
    const kv3 = [0x0a, 1, 0x61, 0x10, 2, 0x18, 3, 0x20, 2, 0x2a, 1, 0x32];
    const want = crc32c(enc([[...b('key')], etcdKey(3, 0), kv3])) >>> 0;
    expect((await s.hashKV(5)).hash).toBe(want);
    await s.compactionDone();
    expect((await s.hashKV(0))).toEqual({ hash: want, compactRevision: 5, revision: 5, hashRevision: 5 });
    expect((await s.hashKV(4).catch((e) => e)).code).toBe('compacted');
    expect((await s.hashKV(6).catch((e) => e)).code).toBe('future-rev');
  });

  it('equal histories hash equal regardless of flush timing; any difference changes it', async () => {
    const run = async (opts: object, last: string): Promise<MvccStore> => {
      const s = await t.open(undefined, opts);
      await s.put(pr('x', '1'), 1);
      await s.flush();
      await s.txn({ compare: [], success: [{ put: pr('y', '1') }, { put: pr('z', '1', { lease: -4n }) }], failure: [] }, 2);
      await s.deleteRange(dr('x'), 3);
      await s.put(pr('y', last), 4);
      return s;
    };
    const a = await run({}, '2');
    const bb = await run(NOFLUSH, '2');
    const c = await run({}, '3');
    const [ha, hb, hc] = await Promise.all([a.hashKV(0), bb.hashKV(0), c.hashKV(0)]);
    expect(ha.hash).toBe(hb.hash);
    expect(ha.hash).not.toBe(hc.hash);
    // hashing at an older revision ignores later writes
    expect((await a.hashKV(4)).hash).toBe((await c.hashKV(4)).hash);
    const before = (await a.hashKV(5)).hash;
    await a.put(pr('w', '1'), 5);
    expect((await a.hashKV(5)).hash).toBe(before);
    expect((await a.hashKV(0)).hash).not.toBe(before);
  });
});
