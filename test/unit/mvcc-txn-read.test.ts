// A read-only Txn served beside the applies (txn-read.ts): the same answer the
// apply path gives, at one revision throughout even while writes are applied
// during its LevelDB reads, started over when a compaction lands meanwhile.
import { afterEach, describe, expect, it } from 'vitest';
import type { MvccStore, RequestOp, TxnRequest, TxnResponse } from '../../src/mvcc/index.js';
import { TmpStores, pr, rr, cmp, kvt, CompareResult as R, CompareTarget as T } from './mvcc-helpers.js';

const t = new TmpStores();
afterEach(() => t.cleanup());

const txn = (compare: TxnRequest['compare'], success: RequestOp[], failure: RequestOp[] = []): TxnRequest => ({ compare, success, failure });
const get = (k: string, end = '', o = {}): RequestOp => ({ range: rr(k, end, o) });

/** Writes revisions 2..5 (a, b, a, c), flushes and reopens: no value is buffered or cached, so every fetch waits for LevelDB. */
async function coldStore(): Promise<MvccStore> {
  const dir = await t.dir();
  const s = await t.open(dir);
  await s.put(pr('a', 'a1'), 1);
  await s.put(pr('b', 'b1'), 2);
  await s.put(pr('a', 'a2', { lease: 5n }), 3);
  await s.put(pr('c', 'c1'), 4);
  await s.close();
  return t.open(dir);
}

const rangesOf = (r: TxnResponse) =>
  r.responses.map((op) => ('range' in op ? { kvs: op.range.kvs.map(kvt), revision: op.range.revision } : op));
/** Comparable whatever holds the bytes (a Buffer from LevelDB, a Uint8Array from a write). */
const plain = (r: TxnResponse) => ({
  succeeded: r.succeeded, revision: r.revision,
  ranges: r.responses.map((op) => ('range' in op ? { ...op.range, kvs: op.range.kvs.map(kvt) } : op)),
});

describe('MvccStore.readTxn', () => {
  it('answers every read-only txn as applying it does', async () => {
    const s = await coldStore();
    const cases: TxnRequest[] = [
      txn([cmp('a', T.Value, R.Equal, 'a2')], [get('a'), get('a', 'z', { limit: 2 })], [get('b')]),
      txn([cmp('a', T.Value, R.Equal, 'a1')], [get('a')], [get('b'), get('a', '\0', { revision: 3 })]),
      txn([cmp('a', T.Version, R.Equal, 2), cmp('b', T.Mod, R.Less, 4), cmp('a', T.Lease, R.Equal, 5n)], [get('a', 'c', { keysOnly: true })]),
      txn([cmp('zz', T.Create, R.Equal, 0)], [get('a', 'z', { countOnly: true })], []),
      txn([cmp('a', T.Version, R.Greater, 5)], [], []),
      txn([], [], []),
    ];
    for (const [i, req] of cases.entries()) {
      const read = await s.readTxn(req);
      const applied = await s.txn(req, 100 + i); // a txn of ranges changes nothing: same revision
      expect(plain(read)).toEqual(plain(applied));
    }
  });

  it("gives etcd's errors for a range revision out of reach", async () => {
    const s = await coldStore();
    await expect(s.readTxn(txn([], [get('a', '', { revision: 99 })]))).rejects.toThrow('mvcc: required revision is a future revision');
    await (await s.compact(3, 10)).done;
    await expect(s.readTxn(txn([], [get('a', '', { revision: 2 })]))).rejects.toThrow('mvcc: required revision has been compacted');
    // Only the chosen branch is checked, as applying does.
    expect((await s.readTxn(txn([cmp('a', T.Version, R.Equal, 9)], [get('a', '', { revision: 2 })], [get('b')]))).succeeded).toBe(false);
  });

  it('reads one revision throughout while writes are applied during its LevelDB reads', async () => {
    const s = await coldStore();
    const reading = s.readTxn(txn([cmp('a', T.Value, R.Equal, 'a2')], [get('a'), get('c')], [get('b')]));
    // Applied while the compare waits for LevelDB: not seen by the txn.
    await s.put(pr('a', 'a3'), 5);
    await s.put(pr('c', 'c2'), 6);
    const r = await reading;
    expect(r.succeeded).toBe(true);
    expect(r.revision).toBe(5);
    expect(rangesOf(r)).toEqual([
      { kvs: [['a', 'a2', 2, 4, 2, 5n]], revision: 5 },
      { kvs: [['c', 'c1', 5, 5, 1, 0n]], revision: 5 },
    ]);
    expect((await s.readTxn(txn([cmp('a', T.Value, R.Equal, 'a2')], [], [get('a')]))).revision).toBe(7);
  });

  it('starts over at the store\'s revision when a compaction is applied while it reads', async () => {
    const s = await coldStore();
    const reading = s.readTxn(txn([cmp('a', T.Value, R.Equal, 'a2')], [get('a')], [get('a')]));
    await s.put(pr('a', 'a3'), 5);
    await s.compact(6, 6); // revision 4 (a=a2) is gone from the index
    const r = await reading;
    expect(r.revision).toBe(6);
    expect(r.succeeded).toBe(false);
    expect(rangesOf(r)).toEqual([{ kvs: [['a', 'a3', 2, 6, 3, 0n]], revision: 6 }]);
    // A range at a revision the compaction removed fails as it would after it.
    await expect(s.readTxn(txn([], [get('a', '', { revision: 4 })]))).rejects.toThrow('has been compacted');
  });

  it('refuses a txn that writes (the apply loop serves those)', async () => {
    const s = await coldStore();
    await expect(s.readTxn(txn([], [{ put: pr('x', '1') }]))).rejects.toThrow(/writes/);
    await expect(s.readTxn(txn([], [], [{ txn: txn([], [get('a')]) }]))).rejects.toThrow(/writes/);
  });
});
