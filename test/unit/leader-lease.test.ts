// The leader lease (src/server/leader-lease.ts) and how ReadIndex rounds feed it
// (src/server/read-index.ts). Whether a lease of this length is safe is the
// simulation's to show: SimCluster.checkLeaderLeases fails a run in which any
// member leads in a later term while another still holds a lease.

import { describe, expect, it } from 'vitest';
import { LeaderLease, leaderLeaseMs, type LeaseStamp } from '../../src/server/leader-lease.js';
import { ReadIndexer } from '../../src/server/read-index.js';
import { IndexWaiter } from '../../src/server/waiters.js';

describe('leaderLeaseMs', () => {
  it('is the election timeout less two ticks, less the clock margin', () => {
    expect(leaderLeaseMs(1000, 100)).toBe(720); // etcd's defaults
    expect(leaderLeaseMs(5000, 500)).toBe(3600);
    expect(leaderLeaseMs(1050, 100)).toBe(720); // whole ticks only
  });

  it('is none when the election timeout is two ticks or less', () => {
    expect(leaderLeaseMs(200, 100)).toBe(0);
    expect(leaderLeaseMs(100, 100)).toBe(0);
  });
});

describe('LeaderLease', () => {
  function lease(durationMs = 700) {
    let now = 1000;
    const l = new LeaderLease(() => now, durationMs);
    return { l, at: (t: number) => (now = t) };
  }

  it('runs from when the confirmed round was asked, not from when it was answered', () => {
    const { l, at } = lease();
    const s = l.stamp(3);
    at(1300);
    expect(l.remainingMs(3)).toBe(0);
    l.confirmed(s);
    expect(l.remainingMs(3)).toBe(400);
    at(1700);
    expect(l.remainingMs(3)).toBe(0);
  });

  it('belongs to one term: none for another, and an older term\'s round changes nothing', () => {
    const { l, at } = lease();
    const old = l.stamp(3);
    at(1100);
    l.confirmed(l.stamp(4));
    expect(l.remainingMs(3)).toBe(0);
    expect(l.remainingMs(4)).toBe(700);
    l.confirmed(old);
    expect(l.remainingMs(4)).toBe(700);
  });

  it('is only extended, never shortened, by a round asked earlier', () => {
    const { l, at } = lease();
    const early = l.stamp(2);
    at(1200);
    const late = l.stamp(2);
    l.confirmed(late);
    l.confirmed(early);
    expect(l.remainingMs(2)).toBe(700);
  });

  it('ends when invalidated (a membership change)', () => {
    const { l } = lease();
    l.confirmed(l.stamp(2));
    l.invalidate();
    expect(l.remainingMs(2)).toBe(0);
  });
});

describe('ReadIndexer stamps for the lease', () => {
  it('stamps a round as it is first asked and hands the stamp over when a read state answers it', async () => {
    const asked: Uint8Array[] = [];
    const confirmed: LeaseStamp[] = [];
    let now = 0;
    let lead = 0n;
    const applied = new IndexWaiter(0);
    const r = new ReadIndexer((ctx) => asked.push(ctx), (i) => applied.wait(i), 10_000, 10_000, {
      leader: () => lead,
      noLeaderWaitMs: 10_000,
      stampRound: () => ({ at: now, term: 7 }),
      onConfirmed: (s) => confirmed.push(s),
    });
    const p = r.barrier();
    now = 50;
    lead = 1n;
    r.onLeader(1n); // asked again: the stamp stays the first one (the earlier, the safer)
    expect(asked.length).toBe(2);
    r.onReadStates([{ index: 3, requestCtx: asked[1]! }]);
    expect(confirmed).toEqual([{ at: 0, term: 7 }]);
    applied.advance(3);
    await p;
    r.failAll(new Error('stopped'));
  });

  it('hands nothing over for a round asked while not the leader (no stamp)', async () => {
    const asked: Uint8Array[] = [];
    const confirmed: LeaseStamp[] = [];
    const r = new ReadIndexer((ctx) => asked.push(ctx), () => Promise.resolve(), 10_000, 10_000, {
      stampRound: () => undefined,
      onConfirmed: (s) => confirmed.push(s),
    });
    const p = r.barrier();
    r.onReadStates([{ index: 1, requestCtx: asked[0]! }]);
    await p;
    expect(confirmed).toEqual([]);
    r.failAll(new Error('stopped'));
  });
});
