import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MvccError, type MvccStore } from '../../src/mvcc/index.js';
import { TmpStores, pr, rr, dr, kvt, keys, SortOrder, SortTarget } from './mvcc-helpers.js';

const t = new TmpStores();
afterEach(() => t.cleanup());

// History (revision → change):
//  2 put a=3   3 put b=1   4 put c=2   5 put foo=f   6 put foo/bar=fb   7 put a=0
//  8 put foo/baz=fz   9 delete c
// Live at 9: a(v2,c2,m7,'0') b(v1,c3,m3,'1') foo(c5,m5) foo/bar(c6,m6) foo/baz(c8,m8)
async function seed(s: MvccStore): Promise<void> {
  let ci = 1;
  for (const [k, v] of [['a', '3'], ['b', '1'], ['c', '2'], ['foo', 'f'], ['foo/bar', 'fb'], ['a', '0'], ['foo/baz', 'fz']] as const) {
    await s.put(pr(k, v), ci++);
  }
  await s.deleteRange(dr('c'), ci++);
}

describe.each([
  ['record cache on', {}],
  ['record cache off, flushed (reads hit LevelDB)', { cacheBytes: 0, flush: true }],
])('mvcc range (%s)', (_name, cfg: { cacheBytes?: number; flush?: boolean }) => {
  let s: MvccStore;
  beforeEach(async () => {
    s = await t.open(undefined, cfg.cacheBytes === undefined ? {} : { cacheBytes: cfg.cacheBytes });
    await seed(s);
    if (cfg.flush) await s.flush();
  });

  it('single key, missing key', async () => {
    const r = await s.range(rr('a'));
    expect(r.kvs.map(kvt)).toEqual([['a', '0', 2, 7, 2, 0n]]);
    expect(r).toMatchObject({ count: 1, more: false, revision: 9 });
    const m = await s.range(rr('zz'));
    expect(m).toMatchObject({ kvs: [], count: 0, more: false, revision: 9 });
    expect((await s.range(rr('c'))).count).toBe(0); // deleted
  });

  it('[key, rangeEnd), prefix, from-key and everything', async () => {
    expect(keys((await s.range(rr('a', 'c'))).kvs)).toEqual(['a', 'b']);
    expect(keys((await s.range(rr('foo', 'fop'))).kvs)).toEqual(['foo', 'foo/bar', 'foo/baz']);
    expect(keys((await s.range(rr('foo/', 'foo0'))).kvs)).toEqual(['foo/bar', 'foo/baz']);
    expect(keys((await s.range(rr('b', '\0'))).kvs)).toEqual(['b', 'foo', 'foo/bar', 'foo/baz']);
    expect(keys((await s.range(rr('\0', '\0'))).kvs)).toEqual(['a', 'b', 'foo', 'foo/bar', 'foo/baz']);
    expect((await s.range(rr('c', 'a'))).kvs).toEqual([]); // end before start
  });

  it('limit sets more; count is all matches', async () => {
    const r = await s.range(rr('\0', '\0', { limit: 2 }));
    expect(keys(r.kvs)).toEqual(['a', 'b']);
    expect(r.more).toBe(true);
    expect(r.count).toBe(5);
    const exact = await s.range(rr('\0', '\0', { limit: 5 }));
    expect(exact.more).toBe(false);
    expect(exact.kvs).toHaveLength(5);
    const big = await s.range(rr('\0', '\0', { limit: 100 }));
    expect(big).toMatchObject({ more: false, count: 5 });
  });

  it('reads at a past revision', async () => {
    const r4 = await s.range(rr('\0', '\0', { revision: 4 }));
    expect(r4.kvs.map(kvt)).toEqual([['a', '3', 2, 2, 1, 0n], ['b', '1', 3, 3, 1, 0n], ['c', '2', 4, 4, 1, 0n]]);
    expect(r4.revision).toBe(9); // header carries the store revision
    expect((await s.range(rr('c', '', { revision: 8 }))).kvs.map(kvt)).toEqual([['c', '2', 4, 4, 1, 0n]]);
    expect((await s.range(rr('c', '', { revision: 9 }))).kvs).toEqual([]);
    expect((await s.range(rr('a', '', { revision: 1 }))).kvs).toEqual([]);
    expect((await s.range(rr('a', '', { revision: -3 }))).kvs.map(kvt)).toEqual([['a', '0', 2, 7, 2, 0n]]);
  });

  it('future revision fails', async () => {
    const err = await s.range(rr('a', '', { revision: 10 })).catch((e) => e);
    expect(err).toBeInstanceOf(MvccError);
    expect(err.code).toBe('future-rev');
    expect(err.message).toBe('mvcc: required revision is a future revision');
  });

  it('sort order × target', async () => {
    const sorted = async (order: SortOrder, target: SortTarget): Promise<string[]> =>
      keys((await s.range(rr('\0', '\0', { sortOrder: order, sortTarget: target }))).kvs);
    // versions: a2 b1 foo1 foo/bar1 foo/baz1; create: a2 b3 foo5 foo/bar6 foo/baz8
    // mod: b3 foo5 foo/bar6 a7 foo/baz8; value: a'0' b'1' foo'f' foo/bar'fb' foo/baz'fz'
    expect(await sorted(SortOrder.Ascend, SortTarget.Key)).toEqual(['a', 'b', 'foo', 'foo/bar', 'foo/baz']);
    expect(await sorted(SortOrder.Descend, SortTarget.Key)).toEqual(['foo/baz', 'foo/bar', 'foo', 'b', 'a']);
    expect(await sorted(SortOrder.Ascend, SortTarget.Version)).toEqual(['b', 'foo', 'foo/bar', 'foo/baz', 'a']);
    expect(await sorted(SortOrder.Descend, SortTarget.Version)).toEqual(['a', 'b', 'foo', 'foo/bar', 'foo/baz']);
    expect(await sorted(SortOrder.Ascend, SortTarget.Create)).toEqual(['a', 'b', 'foo', 'foo/bar', 'foo/baz']);
    expect(await sorted(SortOrder.Descend, SortTarget.Create)).toEqual(['foo/baz', 'foo/bar', 'foo', 'b', 'a']);
    expect(await sorted(SortOrder.Ascend, SortTarget.Mod)).toEqual(['b', 'foo', 'foo/bar', 'a', 'foo/baz']);
    expect(await sorted(SortOrder.Descend, SortTarget.Mod)).toEqual(['foo/baz', 'a', 'foo/bar', 'foo', 'b']);
    expect(await sorted(SortOrder.Ascend, SortTarget.Value)).toEqual(['a', 'b', 'foo', 'foo/bar', 'foo/baz']);
    expect(await sorted(SortOrder.Descend, SortTarget.Value)).toEqual(['foo/baz', 'foo/bar', 'foo', 'b', 'a']);
    // NONE with a non-key target means ASCEND (etcd)
    expect(await sorted(SortOrder.None, SortTarget.Mod)).toEqual(['b', 'foo', 'foo/bar', 'a', 'foo/baz']);
    expect(await sorted(SortOrder.None, SortTarget.Key)).toEqual(['a', 'b', 'foo', 'foo/bar', 'foo/baz']);
  });

  it('sorting happens before the limit', async () => {
    const r = await s.range(rr('\0', '\0', { sortOrder: SortOrder.Descend, sortTarget: SortTarget.Mod, limit: 2 }));
    expect(keys(r.kvs)).toEqual(['foo/baz', 'a']);
    expect(r).toMatchObject({ more: true, count: 5 });
    const k = await s.range(rr('\0', '\0', { sortOrder: SortOrder.Descend, sortTarget: SortTarget.Key, limit: 1 }));
    expect(keys(k.kvs)).toEqual(['foo/baz']);
    const a = await s.range(rr('\0', '\0', { sortOrder: SortOrder.Ascend, sortTarget: SortTarget.Key, limit: 3 }));
    expect(keys(a.kvs)).toEqual(['a', 'b', 'foo']);
    expect(a.more).toBe(true);
  });

  it('keysOnly drops values without touching stored data', async () => {
    const r = await s.range(rr('a', 'c', { keysOnly: true }));
    expect(r.kvs.map(kvt)).toEqual([['a', '', 2, 7, 2, 0n], ['b', '', 3, 3, 1, 0n]]);
    expect((await s.range(rr('a'))).kvs.map(kvt)).toEqual([['a', '0', 2, 7, 2, 0n]]);
  });

  it('countOnly returns only the count', async () => {
    const r = await s.range(rr('\0', '\0', { countOnly: true }));
    expect(r).toEqual({ kvs: [], more: false, count: 5, revision: 9 });
    expect((await s.range(rr('\0', '\0', { countOnly: true, limit: 1 }))).count).toBe(5);
    expect((await s.range(rr('\0', '\0', { countOnly: true, revision: 4 }))).count).toBe(3);
  });

  it('min/max mod and create revision filters (applied after count, before limit)', async () => {
    const f = async (o: Parameters<typeof rr>[2]): Promise<{ k: string[]; count: number; more: boolean }> => {
      const r = await s.range(rr('\0', '\0', o));
      return { k: keys(r.kvs), count: r.count, more: r.more };
    };
    expect(await f({ minModRevision: 6 })).toEqual({ k: ['a', 'foo/bar', 'foo/baz'], count: 5, more: false });
    expect(await f({ maxModRevision: 5 })).toEqual({ k: ['b', 'foo'], count: 5, more: false });
    expect(await f({ minCreateRevision: 5 })).toEqual({ k: ['foo', 'foo/bar', 'foo/baz'], count: 5, more: false });
    expect(await f({ maxCreateRevision: 3 })).toEqual({ k: ['a', 'b'], count: 5, more: false });
    expect(await f({ minModRevision: 5, maxModRevision: 7 })).toEqual({ k: ['a', 'foo', 'foo/bar'], count: 5, more: false });
    expect(await f({ minCreateRevision: 3, maxCreateRevision: 6, minModRevision: 6 })).toEqual({ k: ['foo/bar'], count: 5, more: false });
    // limit applies to the filtered list
    expect(await f({ minModRevision: 6, limit: 2 })).toEqual({ k: ['a', 'foo/bar'], count: 5, more: true });
    expect(await f({ minModRevision: 6, limit: 3 })).toEqual({ k: ['a', 'foo/bar', 'foo/baz'], count: 5, more: false });
  });

  it('compacted revisions fail; the compact revision itself is readable', async () => {
    await (await s.compact(5, 20)).done;
    const at5 = await s.range(rr('\0', '\0', { revision: 5 }));
    expect(keys(at5.kvs)).toEqual(['a', 'b', 'c', 'foo']);
    const err = await s.range(rr('a', '', { revision: 4 })).catch((e) => e);
    expect(err).toBeInstanceOf(MvccError);
    expect(err.code).toBe('compacted');
    expect(err.message).toBe('mvcc: required revision has been compacted');
    expect(keys((await s.range(rr('\0', '\0', { revision: 6 }))).kvs)).toEqual(['a', 'b', 'c', 'foo', 'foo/bar']);
  });
});

describe('mvcc range over unflushed writes', () => {
  it('reads see pending writes before any flush', async () => {
    const s = await t.open(undefined, { flushIntervalMs: 60_000, flushMaxOps: 1_000_000 });
    await s.put(pr('x', '1'), 1);
    await s.put(pr('y', '2'), 2);
    await s.put(pr('x', '3'), 3);
    expect((await s.range(rr('\0', '\0'))).kvs.map(kvt)).toEqual([['x', '3', 2, 4, 2, 0n], ['y', '2', 3, 3, 1, 0n]]);
    expect((await s.range(rr('x', '', { revision: 2 }))).kvs.map(kvt)).toEqual([['x', '1', 2, 2, 1, 0n]]);
    // half flushed, half pending
    await s.flush();
    await s.put(pr('x', '5'), 4);
    expect((await s.range(rr('\0', '\0'))).kvs.map(kvt)).toEqual([['x', '5', 2, 5, 3, 0n], ['y', '2', 3, 3, 1, 0n]]);
    expect((await s.range(rr('x', '', { revision: 4 }))).kvs.map(kvt)).toEqual([['x', '3', 2, 4, 2, 0n]]);
  });

  it('a read keeps its snapshot while later writes are applied', async () => {
    const s = await t.open();
    await s.put(pr('k1', 'a'), 1);
    await s.put(pr('k2', 'b'), 2);
    await s.flush();
    const pending = s.range(rr('k', 'l'));
    await s.put(pr('k1', 'changed'), 3);
    await s.deleteRange(dr('k2'), 4);
    const r = await pending;
    expect(r.kvs.map(kvt)).toEqual([['k1', 'a', 2, 2, 1, 0n], ['k2', 'b', 3, 3, 1, 0n]]);
    expect(r.revision).toBe(3);
  });
});
