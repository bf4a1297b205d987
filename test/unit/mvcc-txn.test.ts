import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MvccError, TxnValidationError, validateTxn,
  type MvccStore, type RequestOp, type TxnRequest, type Event,
} from '../../src/mvcc/index.js';
import { TmpStores, pr, rr, dr, cmp, kvt, keys, CompareResult as R, CompareTarget as T } from './mvcc-helpers.js';

const t = new TmpStores();
afterEach(() => t.cleanup());

const txn = (compare: TxnRequest['compare'], success: RequestOp[], failure: RequestOp[] = []): TxnRequest => ({ compare, success, failure });
const put = (k: string, v: string): RequestOp => ({ put: pr(k, v) });
const get = (k: string, end = ''): RequestOp => ({ range: rr(k, end) });
const del = (k: string, end = ''): RequestOp => ({ deleteRange: dr(k, end) });

// a: create 2, mod 4, version 2, value 'a2', lease 5 ; b: create 3, mod 3, version 1, value 'b1'
async function seed(s: MvccStore): Promise<void> {
  await s.put(pr('a', 'a1'), 1);
  await s.put(pr('b', 'b1'), 2);
  await s.put(pr('a', 'a2', { lease: 5n }), 3);
}

describe('mvcc txn compares', () => {
  let s: MvccStore;
  beforeEach(async () => { s = await t.open(); await seed(s); });
  const ok = async (c: ReturnType<typeof cmp>): Promise<boolean> => (await s.txn(txn([c], [], []), 100)).succeeded;

  it.each([
    [T.Version, 2, R.Equal, true], [T.Version, 2, R.NotEqual, false], [T.Version, 1, R.Greater, true], [T.Version, 2, R.Greater, false],
    [T.Version, 3, R.Less, true], [T.Version, 2, R.Less, false],
    [T.Create, 2, R.Equal, true], [T.Create, 3, R.NotEqual, true], [T.Create, 1, R.Greater, true], [T.Create, 2, R.Less, false],
    [T.Mod, 4, R.Equal, true], [T.Mod, 4, R.NotEqual, false], [T.Mod, 4, R.Greater, false], [T.Mod, 5, R.Less, true],
    [T.Value, 'a2', R.Equal, true], [T.Value, 'a1', R.NotEqual, true], [T.Value, 'a1', R.Greater, true], [T.Value, 'a3', R.Less, true],
    [T.Value, 'a2', R.Less, false],
    [T.Lease, 5n, R.Equal, true], [T.Lease, 5n, R.NotEqual, false], [T.Lease, 4n, R.Greater, true], [T.Lease, 6n, R.Less, true],
  ] as const)('target %i value %s result %i → %s', async (target, v, result, want) => {
    expect(await ok(cmp('a', target, result, v))).toBe(want);
  });

  it('missing key compares as zero, except VALUE which fails', async () => {
    expect(await ok(cmp('zz', T.Version, R.Equal, 0))).toBe(true);
    expect(await ok(cmp('zz', T.Create, R.Equal, 0))).toBe(true);
    expect(await ok(cmp('zz', T.Mod, R.Less, 1))).toBe(true);
    expect(await ok(cmp('zz', T.Lease, R.Equal, 0))).toBe(true);
    expect(await ok(cmp('zz', T.Value, R.Equal, ''))).toBe(false);
    expect(await ok(cmp('zz', T.Value, R.NotEqual, 'x'))).toBe(false);
  });

  it('compare over a range must hold for every key', async () => {
    expect(await ok(cmp('a', T.Create, R.Greater, 1, 'c'))).toBe(true); // a:2 b:3
    expect(await ok(cmp('a', T.Create, R.Greater, 2, 'c'))).toBe(false); // a fails
    expect(await ok(cmp('a', T.Mod, R.Less, 5, '\0'))).toBe(true); // from-key
    expect(await ok(cmp('c', T.Version, R.Equal, 0, 'z'))).toBe(true); // empty range → zero kv
    expect(await ok(cmp('a', T.Value, R.NotEqual, 'zz', 'c'))).toBe(true);
  });

  it('all compares must hold', async () => {
    const r = await s.txn(txn([cmp('a', T.Version, R.Equal, 2), cmp('b', T.Version, R.Equal, 9)], [put('x', '1')], [put('y', '1')]), 100);
    expect(r.succeeded).toBe(false);
    expect(keys((await s.range(rr('x', 'z'))).kvs)).toEqual(['y']);
  });
});

describe('mvcc txn apply', () => {
  let s: MvccStore;
  beforeEach(async () => { s = await t.open(); await seed(s); });

  it('success branch: one revision for the whole txn; reads see earlier writes', async () => {
    const events: [number, string[]][] = [];
    s.onEvents((evs: Event[], rev) => events.push([rev, evs.map((e) => e.type)]));
    const r = await s.txn(txn([cmp('a', T.Value, R.Equal, 'a2')],
      [put('c', 'c1'), get('c'), { put: pr('a', 'a3', { prevKv: true }) }, { deleteRange: dr('b', '', { prevKv: true }) }, get('\0', '\0')],
      [put('never', 'x')]), 10);
    expect(r.succeeded).toBe(true);
    expect(r.revision).toBe(5);
    expect(s.currentRevision()).toBe(5);
    const [p0, r1, p2, d3, r4] = r.responses as any[];
    expect(p0.put).toEqual({ revision: 5 });
    expect(r1.range.kvs.map(kvt)).toEqual([['c', 'c1', 5, 5, 1, 0n]]);
    expect(r1.range.revision).toBe(5);
    expect(p2.put.revision).toBe(5);
    expect(kvt(p2.put.prevKv)).toEqual(['a', 'a2', 2, 4, 2, 5n]);
    expect(d3.deleteRange.deleted).toBe(1);
    expect(d3.deleteRange.revision).toBe(5);
    expect(d3.deleteRange.prevKvs.map(kvt)).toEqual([['b', 'b1', 3, 3, 1, 0n]]);
    expect(r4.range.kvs.map(kvt)).toEqual([['a', 'a3', 2, 5, 3, 0n], ['c', 'c1', 5, 5, 1, 0n]]);
    expect(events).toEqual([[5, ['PUT', 'PUT', 'DELETE']]]);
    // the sub-revisions landed in order and survive a flush
    await s.flush();
    expect((await s.range(rr('\0', '\0'))).kvs.map(kvt)).toEqual([['a', 'a3', 2, 5, 3, 0n], ['c', 'c1', 5, 5, 1, 0n]]);
    expect((await s.range(rr('\0', '\0', { revision: 4 }))).kvs.map(kvt)).toEqual([['a', 'a2', 2, 4, 2, 5n], ['b', 'b1', 3, 3, 1, 0n]]);
    expect(s.consistentIndex()).toBe(10);
  });

  it('failure branch runs when a compare fails', async () => {
    const r = await s.txn(txn([cmp('a', T.Mod, R.Equal, 2)], [put('s', '1')], [put('f', '1'), get('f')]), 10);
    expect(r.succeeded).toBe(false);
    expect(r.responses).toHaveLength(2);
    expect(keys((r.responses[1] as any).range.kvs)).toEqual(['f']);
    expect((await s.range(rr('s'))).count).toBe(0);
  });

  it('read-only txn and txn that changes nothing do not bump the revision', async () => {
    const r = await s.txn(txn([], [get('a'), get('\0', '\0')]), 10);
    expect(r.revision).toBe(4);
    expect((r.responses[1] as any).range.count).toBe(2);
    const d = await s.txn(txn([], [del('nothing'), del('x', 'y')]), 11);
    expect(d.revision).toBe(4);
    expect(s.currentRevision()).toBe(4);
    expect(s.consistentIndex()).toBe(11);
    const e = await s.txn(txn([], []), 12);
    expect(e).toEqual({ succeeded: true, responses: [], revision: 4 });
  });

  it('nested txns: compares all evaluated before any op, branches per level', async () => {
    const r = await s.txn(txn([cmp('a', T.Version, R.Equal, 2)], [
      put('x', '1'),
      // evaluated against the state before the txn: x does not exist yet
      { txn: txn([cmp('x', T.Version, R.Equal, 0)], [put('y', 'inner-ok')], [put('y', 'inner-bad')]) },
      { txn: txn([cmp('b', T.Value, R.Equal, 'nope')], [put('z', 'bad')], [get('x'), { txn: txn([], [put('w', 'deep')]) }]) },
    ]), 10);
    expect(r.succeeded).toBe(true);
    expect(r.revision).toBe(5);
    const [, n1, n2] = r.responses as any[];
    expect(n1.txn.succeeded).toBe(true);
    expect(n1.txn.responses[0].put.revision).toBe(5);
    expect(n2.txn.succeeded).toBe(false);
    expect(n2.txn.responses[0].range.kvs.map(kvt)).toEqual([['x', '1', 5, 5, 1, 0n]]);
    expect(n2.txn.responses[1].txn.succeeded).toBe(true);
    expect((await s.range(rr('w', 'zz'))).kvs.map(kvt)).toEqual([['w', 'deep', 5, 5, 1, 0n], ['x', '1', 5, 5, 1, 0n], ['y', 'inner-ok', 5, 5, 1, 0n]]);
  });

  it('checks fail the whole txn before any change', async () => {
    const e1 = await s.txn(txn([], [put('x', '1'), { put: pr('missing', '', { ignoreValue: true }) }]), 10).catch((e) => e);
    expect(e1).toBeInstanceOf(MvccError);
    expect(e1.message).toBe('etcdserver: key not found');
    const e2 = await s.txn(txn([], [put('x', '1'), { range: rr('a', '', { revision: 99 }) }]), 11).catch((e) => e);
    expect(e2.code).toBe('future-rev');
    expect((await s.range(rr('x'))).count).toBe(0);
    expect(s.currentRevision()).toBe(4);
    expect(s.consistentIndex()).toBe(11);
    await (await s.compact(3, 12)).done;
    const e3 = await s.txn(txn([], [{ range: rr('a', '', { revision: 2 }) }]), 13).catch((e) => e);
    expect(e3.code).toBe('compacted');
    // range at exactly the compact revision is fine
    const ok = await s.txn(txn([], [{ range: rr('a', '', { revision: 3 }) }]), 14);
    expect((ok.responses[0] as any).range.kvs.map(kvt)).toEqual([['a', 'a1', 2, 2, 1, 0n]]);
  });

  it('a put in a txn after a delete of another key in the same range', async () => {
    const r = await s.txn(txn([], [del('a', 'c'), put('c', 'new')]), 10);
    expect(r.revision).toBe(5);
    expect((await s.range(rr('\0', '\0'))).kvs.map(kvt)).toEqual([['c', 'new', 5, 5, 1, 0n]]);
  });
});

describe('validateTxn', () => {
  const v = (r: TxnRequest, max = 128): string | undefined => {
    try { validateTxn(r, max); return undefined; } catch (e) { expect(e).toBeInstanceOf(TxnValidationError); return (e as Error).message; }
  };
  const DUP = 'etcdserver: duplicate key given in txn request';

  it('too many operations', () => {
    const ops = Array.from({ length: 4 }, (_, i) => put('k' + i, 'v'));
    expect(v(txn([], ops), 4)).toBeUndefined();
    expect(v(txn([], ops), 3)).toBe('etcdserver: too many operations in txn request');
    expect(v(txn([cmp('a', T.Version, R.Equal, 0), cmp('b', T.Version, R.Equal, 0)], []), 1)).toBe('etcdserver: too many operations in txn request');
    expect(v(txn([], [], ops), 3)).toBe('etcdserver: too many operations in txn request');
    // nested budget is max minus the outer level's op count
    expect(v(txn([], [put('a', '1'), { txn: txn([], [put('b', '1'), put('c', '1')]) }]), 3)).toBe('etcdserver: too many operations in txn request');
    expect(v(txn([], [put('a', '1'), { txn: txn([], [put('b', '1'), put('c', '1')]) }]), 4)).toBeUndefined();
  });

  it('empty keys', () => {
    expect(v(txn([cmp('', T.Version, R.Equal, 0)], []))).toBe('etcdserver: key is not provided');
    expect(v(txn([], [put('', 'x')]))).toBe('etcdserver: key is not provided');
    expect(v(txn([], [], [get('')]))).toBe('etcdserver: key is not provided');
    expect(v(txn([], [del('')]))).toBe('etcdserver: key is not provided');
    expect(v(txn([], [{ txn: txn([], [put('', '1')]) }]))).toBe('etcdserver: key is not provided');
    expect(v(txn([], [{ put: pr('k', 'x', { ignoreValue: true }) }]))).toBe('etcdserver: value is provided');
  });

  it('duplicate keys', () => {
    expect(v(txn([], [put('a', '1'), put('a', '2')]))).toBe(DUP);
    expect(v(txn([], [put('a', '1')], [put('a', '2')]))).toBeUndefined(); // different branches
    expect(v(txn([], [put('a', '1'), put('b', '2'), get('a'), get('a')]))).toBeUndefined();
    expect(v(txn([], [del('a'), put('a', '1')]))).toBe(DUP);
    expect(v(txn([], [put('b', '1'), del('a', 'c')]))).toBe(DUP);
    expect(v(txn([], [put('c', '1'), del('a', 'c')]))).toBeUndefined(); // end is exclusive
    expect(v(txn([], [del('a', 'c'), del('b', 'd')]))).toBeUndefined(); // overlapping deletes are fine
    // nested
    expect(v(txn([], [put('a', '1'), { txn: txn([], [put('a', '2')]) }]))).toBe(DUP);
    expect(v(txn([], [{ txn: txn([], [put('a', '1')], [put('a', '2')]) }]))).toBeUndefined();
    expect(v(txn([], [{ txn: txn([], [put('a', '1')]) }, { txn: txn([], [put('a', '2')]) }]))).toBe(DUP);
    expect(v(txn([], [{ txn: txn([], [put('a', '1')]) }, { txn: txn([], [], [put('a', '2')]) }]))).toBe(DUP);
    expect(v(txn([], [del('a', 'z'), { txn: txn([], [put('m', '1')]) }]))).toBe(DUP);
    expect(v(txn([], [{ txn: txn([], [del('a', 'z')]) }, put('m', '1')]))).toBe(DUP);
    expect(v(txn([], [{ txn: txn([], [del('a', 'z')]) }, { txn: txn([], [put('m', '1')]) }]))).toBe(DUP);
    // as in etcd, a from-key delete ("\0" end) is not treated as covering puts
    expect(v(txn([], [del('a', '\0'), put('m', '1')]))).toBeUndefined();
  });
});
