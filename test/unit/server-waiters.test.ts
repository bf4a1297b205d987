import { describe, expect, it } from 'vitest';
import { ReadIndexer } from '../../src/server/read-index.js';
import { IndexWaiter } from '../../src/server/waiters.js';
import { Membership, encodeMemberContext } from '../../src/server/membership.js';
import { RequestIdGenerator } from '../../src/server/request-id.js';
import { ConfChangeType } from '../../src/raft/types.js';

describe('IndexWaiter', () => {
  it('resolves waiters in target order once the index reaches them', async () => {
    const w = new IndexWaiter(5);
    const done: number[] = [];
    await w.wait(3); // already reached
    const ps = [9, 7, 8, 12].map((t) => w.wait(t).then(() => done.push(t)));
    w.advance(8);
    await Promise.resolve();
    await Promise.resolve();
    expect(done.sort()).toEqual([7, 8]);
    w.advance(20);
    await Promise.all(ps);
    expect(done.sort((a, b) => a - b)).toEqual([7, 8, 9, 12]);
  });
});

describe('ReadIndexer', () => {
  it('batches reads that arrive during a round into the next round', async () => {
    const asked: string[] = [];
    const applied = new IndexWaiter(0);
    const r = new ReadIndexer((ctx) => asked.push(Buffer.from(ctx).toString('hex')), (i) => applied.wait(i), 10_000, 10_000);
    const first = r.barrier();
    const second = r.barrier();
    const third = r.barrier();
    expect(asked.length).toBe(1); // only one round in flight
    r.onReadStates([{ index: 4, requestCtx: Buffer.from(asked[0]!, 'hex') }]);
    expect(asked.length).toBe(2); // the waiting reads started the next round together
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await Promise.resolve();
    expect(firstDone).toBe(false); // not before applied reaches the read index
    applied.advance(4);
    await first;
    r.onReadStates([{ index: 6, requestCtx: Buffer.from(asked[1]!, 'hex') }]);
    applied.advance(6);
    await Promise.all([second, third]);
  });

  it('ignores answers for rounds it is not waiting for, and times out', async () => {
    const r = new ReadIndexer(() => {}, () => Promise.resolve(), 50, 1000);
    const p = r.barrier();
    r.onReadStates([{ index: 1, requestCtx: Buffer.from('ffff', 'hex') }]);
    await expect(p).rejects.toThrow('etcdserver: request timed out');
    r.failAll(new Error('stopped'));
  });
});

describe('Membership', () => {
  it('is rebuilt from conf changes and attributes, and survives a snapshot round trip', () => {
    const m = new Membership(7n, 0xfedcba9876543210n);
    m.applyConfChange({
      type: ConfChangeType.AddNode,
      nodeId: 0xfedcba9876543210n,
      context: encodeMemberContext({ id: 0xfedcba9876543210n, name: 'a', peerURLs: ['http://127.0.0.1:2380'], isLearner: false }),
    });
    m.applyConfChange({
      type: ConfChangeType.AddLearnerNode,
      nodeId: 5n,
      context: encodeMemberContext({ id: 5n, name: '', peerURLs: ['http://127.0.0.1:3380'], isLearner: true }),
    });
    m.setAttributes(0xfedcba9876543210n, 'a', ['http://127.0.0.1:2379']);
    const copy = new Membership(7n, 0xfedcba9876543210n);
    copy.restore(m.toSnapshot());
    expect(copy.list()).toEqual(m.list());
    expect(copy.list().map((x) => x.id)).toEqual([5n, 0xfedcba9876543210n]);
    expect(copy.get(5n)?.isLearner).toBe(true);
    m.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 5n, context: new Uint8Array() });
    expect(m.isRemoved(5n)).toBe(true);
    expect(m.list().length).toBe(1);
  });
});

describe('RequestIdGenerator', () => {
  it('gives unique ids carrying the low 16 bits of the member id', () => {
    const g = new RequestIdGenerator(0xabcd1234n);
    const ids = new Set<bigint>();
    for (let i = 0; i < 10_000; i++) ids.add(g.next());
    expect(ids.size).toBe(10_000);
    for (const id of ids) expect(id >> 48n).toBe(0x1234n);
  });
});
