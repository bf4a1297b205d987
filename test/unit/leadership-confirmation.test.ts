// LeadershipConfirmation (src/server/leadership-confirmation.ts): when a lease
// keep-alive's confirmation takes a ReadIndex round and when the leader lease
// lets it through without one.

import { describe, expect, it } from 'vitest';
import { LeaderLease } from '../../src/server/leader-lease.js';
import { type LeaderView, LeadershipConfirmation } from '../../src/server/leadership-confirmation.js';

interface Rig {
  c: LeadershipConfirmation;
  raft: { termNow: number; committedNow: number; leads: boolean };
  setApplied: (i: number) => void;
  setNow: (t: number) => void;
  /** Rounds asked so far; each settles when its `answer` is called. */
  rounds: { answer: (ok: boolean) => void }[];
  lease: LeaderLease | undefined;
}

function rig(withLease: boolean): Rig {
  let now = 0;
  let applied = 10;
  const raft = { termNow: 5, committedNow: 10, leads: true };
  const view: LeaderView = {
    get termNow() { return raft.termNow; },
    get committedNow() { return raft.committedNow; },
    leadsUndisturbed: (term) => raft.leads && term === raft.termNow,
  };
  const lease = withLease ? new LeaderLease(() => now, 700) : undefined;
  const rounds: Rig['rounds'] = [];
  const c = new LeadershipConfirmation({
    raft: view,
    appliedIndex: () => applied,
    lease,
    round: () =>
      new Promise<void>((res, rej) => rounds.push({ answer: (ok) => (ok ? res() : rej(new Error('timed out'))) })),
  });
  return { c, raft, setApplied: (i) => (applied = i), setNow: (t) => (now = t), rounds, lease };
}

/** Stamps and confirms a round through the ReadIndexer hooks, as a quorum's answer would. */
function confirmRound(r: Rig): void {
  const hooks = r.c.readIndexHooks();
  const stamp = hooks.stampRound!();
  expect(stamp).toBeDefined();
  hooks.onConfirmed!(stamp!);
}

describe('LeadershipConfirmation', () => {
  it('without a lease takes a round every time, and gives the ReadIndexer no hooks', async () => {
    const r = rig(false);
    expect(r.c.readIndexHooks()).toEqual({});
    const p = r.c.confirm();
    expect(r.rounds.length).toBe(1);
    r.rounds[0]!.answer(true);
    await p;
    const q = r.c.confirm();
    expect(r.rounds.length).toBe(2);
    r.rounds[1]!.answer(false);
    await expect(q).rejects.toThrow('timed out');
    expect(r.c.leaseNow()).toEqual({ term: 5, remainingMs: 0 });
  });

  it('takes a round until one has confirmed the lease, then none while it holds', async () => {
    const r = rig(true);
    const first = r.c.confirm();
    expect(r.rounds.length).toBe(1);
    confirmRound(r);
    r.rounds[0]!.answer(true);
    await first;
    await r.c.confirm();
    expect(r.rounds.length).toBe(1);
    expect(r.c.leaseNow()).toEqual({ term: 5, remainingMs: 700 });
  });

  it('asks one round ahead once half the lease is gone, and still answers at once', async () => {
    const r = rig(true);
    confirmRound(r);
    r.setNow(400);
    await r.c.confirm();
    await r.c.confirm();
    expect(r.rounds.length).toBe(1); // one refresh in flight, not one per caller
    r.rounds[0]!.answer(false); // a failed refresh only lets the next one be asked
    await Promise.resolve();
    await r.c.confirm();
    expect(r.rounds.length).toBe(2);
  });

  it('takes a round when this leader has not applied its own commit index', async () => {
    const r = rig(true);
    confirmRound(r);
    r.raft.committedNow = 12;
    const p = r.c.confirm();
    expect(r.rounds.length).toBe(1);
    r.setApplied(12);
    r.rounds[0]!.answer(true);
    await p;
    await r.c.confirm();
    expect(r.rounds.length).toBe(1);
  });

  it('uses no lease while a transfer is under way or in another term', async () => {
    const r = rig(true);
    confirmRound(r);
    r.raft.leads = false; // a leadership transfer
    void r.c.confirm();
    expect(r.rounds.length).toBe(1);
    expect(r.c.readIndexHooks().stampRound!()).toBeUndefined();
    r.raft.leads = true;
    r.raft.termNow = 6;
    void r.c.confirm();
    expect(r.rounds.length).toBe(2);
    expect(r.c.leaseNow()).toEqual({ term: 6, remainingMs: 0 });
  });

  it('ignores a round answered after this member stopped leading undisturbed in its term', () => {
    const r = rig(true);
    const hooks = r.c.readIndexHooks();
    const stamp = hooks.stampRound!()!;
    r.raft.leads = false;
    hooks.onConfirmed!(stamp);
    r.raft.leads = true;
    expect(r.c.leaseNow().remainingMs).toBe(0);
  });

  it('ends the lease when a membership change is applied', () => {
    const r = rig(true);
    confirmRound(r);
    r.c.onConfChangeApplied();
    void r.c.confirm();
    expect(r.rounds.length).toBe(1);
  });
});
