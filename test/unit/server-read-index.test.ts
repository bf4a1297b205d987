import { describe, expect, it } from 'vitest';
import { ReadIndexer } from '../../src/server/read-index.js';
import { IndexWaiter } from '../../src/server/waiters.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function indexer(memberId: bigint, opts: Record<string, unknown> = {}) {
  const asked: Uint8Array[] = [];
  const applied = new IndexWaiter(0);
  const r = new ReadIndexer(
    (ctx) => asked.push(new Uint8Array(ctx)),
    (i) => applied.wait(i),
    5_000,
    10_000,
    { memberId, ...opts },
  );
  return { r, asked, applied };
}

describe('ReadIndexer contexts', () => {
  it('are unique across members and across restarts of one member', () => {
    const a = indexer(0x1111n);
    const b = indexer(0x2222n);
    const aRestarted = indexer(0x1111n);
    for (const x of [a, b, aRestarted]) {
      void x.r.barrier().catch(() => {});
    }
    const ctxs = [a, b, aRestarted].map((x) => hex(x.asked[0]!));
    expect(new Set(ctxs).size).toBe(3);
    // The member id is part of the context, so two members can never collide.
    expect(ctxs[0]).toContain('0000000000001111');
    expect(ctxs[1]).toContain('0000000000002222');
    for (const x of [a, b, aRestarted]) x.r.failAll(new Error('stopped'));
  });

  it('successive rounds of one member get distinct contexts', async () => {
    const { r, asked, applied } = indexer(7n);
    const p = r.barrier();
    r.onReadStates([{ index: 1, requestCtx: asked[0]! }]);
    applied.advance(1);
    await p;
    void r.barrier().catch(() => {});
    expect(asked.length).toBe(2);
    expect(hex(asked[1]!)).not.toBe(hex(asked[0]!));
    r.failAll(new Error('stopped'));
  });
});

describe('ReadIndexer without a leader', () => {
  it('fails reads with "etcdserver: no leader" after a bounded wait, not the request timeout', async () => {
    const { r } = indexer(1n, { leader: () => 0n, noLeaderWaitMs: 50 });
    const t0 = Date.now();
    await expect(r.barrier()).rejects.toThrow('etcdserver: no leader');
    expect(Date.now() - t0).toBeLessThan(1_000);
    // Still no leader: the next read fails at once instead of queueing.
    const t1 = Date.now();
    await expect(r.barrier()).rejects.toThrow('etcdserver: no leader');
    expect(Date.now() - t1).toBeLessThan(40);
    r.failAll(new Error('stopped'));
  });

  it('asks again at once when a leader is elected, without waiting for the retry timer', async () => {
    let lead = 0n;
    const { r, asked, applied } = indexer(1n, { leader: () => lead, noLeaderWaitMs: 2_000 });
    const p = r.barrier();
    expect(asked.length).toBe(1); // dropped by Raft: no leader
    lead = 3n;
    r.onLeader(3n);
    expect(asked.length).toBe(2);
    r.onReadStates([{ index: 2, requestCtx: asked[1]! }]);
    applied.advance(2);
    await p;
    r.failAll(new Error('stopped'));
  });
});
