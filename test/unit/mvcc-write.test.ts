import { afterEach, describe, expect, it } from 'vitest';
import { MvccError, TxnValidationError, type Event } from '../../src/mvcc/index.js';
import { TmpStores, pr, rr, dr, kvt, keys, str } from './mvcc-helpers.js';

const t = new TmpStores();
afterEach(() => t.cleanup());

describe('mvcc put', () => {
  it('tracks create/mod revision and version', async () => {
    const s = await t.open();
    expect((await s.put(pr('k', 'v1'), 1)).revision).toBe(2);
    expect((await s.put(pr('other', 'o'), 2)).revision).toBe(3);
    expect((await s.put(pr('k', 'v2', { lease: 7n }), 3)).revision).toBe(4);
    expect((await s.range(rr('k'))).kvs.map(kvt)).toEqual([['k', 'v2', 2, 4, 2, 7n]]);
    expect(s.currentRevision()).toBe(4);
    expect(s.consistentIndex()).toBe(3);
  });

  it('prevKv returns the previous KeyValue (none for a new key)', async () => {
    const s = await t.open();
    const first = await s.put(pr('k', 'v1', { prevKv: true }), 1);
    expect(first.prevKv).toBeUndefined();
    const second = await s.put(pr('k', 'v2', { prevKv: true, lease: 5n }), 2);
    expect(kvt(second.prevKv!)).toEqual(['k', 'v1', 2, 2, 1, 0n]);
    await s.flush();
    const third = await s.put(pr('k', 'v3', { prevKv: true }), 3);
    expect(kvt(third.prevKv!)).toEqual(['k', 'v2', 2, 3, 2, 5n]);
  });

  it('ignoreValue keeps the value, ignoreLease keeps the lease', async () => {
    const s = await t.open();
    await s.put(pr('k', 'orig', { lease: 9n }), 1);
    await s.put(pr('k', '', { ignoreValue: true, lease: 3n }), 2);
    expect((await s.range(rr('k'))).kvs.map(kvt)).toEqual([['k', 'orig', 2, 3, 2, 3n]]);
    await s.put(pr('k', 'new', { ignoreLease: true }), 3);
    expect((await s.range(rr('k'))).kvs.map(kvt)).toEqual([['k', 'new', 2, 4, 3, 3n]]);
    const both = await s.put(pr('k', '', { ignoreLease: true, ignoreValue: true, prevKv: true }), 4);
    expect(kvt(both.prevKv!)).toEqual(['k', 'new', 2, 4, 3, 3n]);
    expect((await s.range(rr('k'))).kvs.map(kvt)).toEqual([['k', 'new', 2, 5, 4, 3n]]);
  });

  it('ignore* on a missing key fails without a new revision, but the index advances', async () => {
    const s = await t.open();
    for (const o of [{ ignoreValue: true }, { ignoreLease: true }]) {
      const err = await s.put(pr('nope', '', o), 7).catch((e) => e);
      expect(err).toBeInstanceOf(MvccError);
      expect(err.code).toBe('key-not-found');
      expect(err.message).toBe('etcdserver: key not found');
    }
    expect(s.currentRevision()).toBe(1);
    expect(s.consistentIndex()).toBe(7);
    expect((await s.range(rr('nope'))).count).toBe(0);
  });

  it('value/lease given together with ignore* are rejected with etcd texts', async () => {
    const s = await t.open();
    await s.put(pr('k', 'v'), 1);
    const e1 = await s.put(pr('k', 'x', { ignoreValue: true }), 2).catch((e) => e);
    expect(e1).toBeInstanceOf(TxnValidationError);
    expect(e1.message).toBe('etcdserver: value is provided');
    const e2 = await s.put(pr('k', '', { ignoreLease: true, lease: 1n }), 3).catch((e) => e);
    expect(e2.message).toBe('etcdserver: lease is provided');
    expect(s.currentRevision()).toBe(2);
  });
});

describe('mvcc deleteRange', () => {
  it('deletes ranges, returns prevKvs, counts', async () => {
    const s = await t.open();
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) await s.put(pr(k, k + k), i + 1);
    const r = await s.deleteRange(dr('b', 'd', { prevKv: true }), 5);
    expect(r.deleted).toBe(2);
    expect(r.revision).toBe(6);
    expect(r.prevKvs.map(kvt)).toEqual([['b', 'bb', 3, 3, 1, 0n], ['c', 'cc', 4, 4, 1, 0n]]);
    expect(keys((await s.range(rr('\0', '\0'))).kvs)).toEqual(['a', 'd']);
    const all = await s.deleteRange(dr('\0', '\0'), 6);
    expect(all).toMatchObject({ deleted: 2, revision: 7, prevKvs: [] });
    expect((await s.range(rr('\0', '\0'))).count).toBe(0);
  });

  it('deleting nothing does not bump the revision', async () => {
    const s = await t.open();
    await s.put(pr('a', '1'), 1);
    const r = await s.deleteRange(dr('zzz', '', { prevKv: true }), 2);
    expect(r).toEqual({ deleted: 0, prevKvs: [], revision: 2 });
    expect(s.currentRevision()).toBe(2);
    expect(s.consistentIndex()).toBe(2);
    await s.deleteRange(dr('a'), 3);
    const again = await s.deleteRange(dr('a'), 4);
    expect(again).toMatchObject({ deleted: 0, revision: 3 });
  });

  it('tombstone then recreate starts a new generation; history stays readable', async () => {
    const s = await t.open();
    await s.put(pr('k', 'g1a'), 1); // 2
    await s.put(pr('k', 'g1b'), 2); // 3
    await s.deleteRange(dr('k'), 3); // 4
    await s.put(pr('k', 'g2a'), 4); // 5
    await s.put(pr('k', 'g2b'), 5); // 6
    expect((await s.range(rr('k'))).kvs.map(kvt)).toEqual([['k', 'g2b', 5, 6, 2, 0n]]);
    expect((await s.range(rr('k', '', { revision: 3 }))).kvs.map(kvt)).toEqual([['k', 'g1b', 2, 3, 2, 0n]]);
    expect((await s.range(rr('k', '', { revision: 4 }))).kvs).toEqual([]);
    expect((await s.range(rr('k', '', { revision: 5 }))).kvs.map(kvt)).toEqual([['k', 'g2a', 5, 5, 1, 0n]]);
  });
});

describe('mvcc events', () => {
  it('one callback per revision, with the revision events', async () => {
    const s = await t.open();
    const seen: [number, string[]][] = [];
    const off = s.onEvents((evs: Event[], rev) => seen.push([rev, evs.map((e) => `${e.type}:${str(e.kv.key)}@${e.kv.modRevision}`)]));
    await s.put(pr('a', '1'), 1);
    await s.put(pr('b', '1'), 2);
    await s.deleteRange(dr('a', 'c'), 3);
    await s.deleteRange(dr('a', 'c'), 4); // nothing: no event
    off();
    await s.put(pr('c', '1'), 5);
    expect(seen).toEqual([[2, ['PUT:a@2']], [3, ['PUT:b@3']], [4, ['DELETE:a@4', 'DELETE:b@4']]]);
  });
});

describe('mvcc puts with a lease', () => {
  const isLease = (err: unknown): boolean => err instanceof MvccError && err.code === 'lease-not-found';

  it('a put naming a lease the checker does not know fails with no revision, before any other check', async () => {
    const s = await t.open();
    s.setLeaseChecker((l) => l === 7n);
    expect((await s.put(pr('k', 'v', { lease: 7n }), 1)).revision).toBe(2);
    await expect(s.put(pr('k', 'v2', { lease: 8n }), 2)).rejects.toSatisfy(isLease);
    // etcd checks the lease before ignore_value's key-must-exist rule.
    await expect(s.put(pr('missing', '', { lease: 8n, ignoreValue: true }), 3)).rejects.toSatisfy(isLease);
    expect(s.currentRevision()).toBe(2);
    expect(s.consistentIndex()).toBe(3);
  });

  it('a txn checks leases on the branch it takes only', async () => {
    const s = await t.open();
    s.setLeaseChecker((l) => l === 7n);
    const put = (lease: bigint) => ({ put: pr('k', 'v', { lease }) });
    // The failure branch names an unknown lease but is not taken.
    const ok = await s.txn({ compare: [], success: [put(7n)], failure: [put(9n)] }, 1);
    expect(ok.succeeded).toBe(true);
    await expect(s.txn({ compare: [], success: [put(9n)], failure: [] }, 2)).rejects.toSatisfy(isLease);
    expect(s.currentRevision()).toBe(2);
  });
});

describe('mvcc writes answered synchronously (putNow, deleteRangeNow, txnNow)', () => {
  const isLease = (err: unknown): boolean => err instanceof MvccError && err.code === 'lease-not-found';

  it('a write that needs no LevelDB read returns its answer, not a promise, and is applied at once', async () => {
    const s = await t.open();
    const put = s.putNow(pr('k', 'v1'), 1);
    expect(put).not.toBeInstanceOf(Promise);
    expect((put as { revision: number }).revision).toBe(2);
    expect(s.currentRevision()).toBe(2);
    expect(s.consistentIndex()).toBe(1);
    const del = s.deleteRangeNow(dr('k'), 2);
    expect(del).not.toBeInstanceOf(Promise);
    expect((del as { deleted: number }).deleted).toBe(1);
    // A txn evaluates its compares asynchronously: the same answer, as a promise.
    expect((await s.txnNow({ compare: [], success: [{ put: pr('t', 'x') }], failure: [] }, 3)).succeeded).toBe(true);
    expect((await s.range(rr('t'))).kvs.map(kvt)).toEqual([['t', 'x', 4, 4, 1, 0n]]);
  });

  it('a deterministic error is thrown at once, after the index moved and nothing else changed', async () => {
    const s = await t.open();
    s.setLeaseChecker((l) => l === 7n);
    let thrown: unknown;
    try {
      s.putNow(pr('k', 'v', { lease: 8n }), 1);
    } catch (err) {
      thrown = err;
    }
    expect(isLease(thrown)).toBe(true);
    expect(s.currentRevision()).toBe(1);
    expect(s.consistentIndex()).toBe(1);
    expect((await s.range(rr('k'))).kvs).toEqual([]);
    // The promise form answers the same way.
    await expect(s.put(pr('k', 'v', { lease: 8n }), 2)).rejects.toSatisfy(isLease);
  });
});
