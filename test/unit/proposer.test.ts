// The proposer's fast path (a leader takes the proposal at once) submits
// synchronously and waits on one promise; the slow path (no leader yet) still
// retries until a leader is known or the deadline passes; every refusal is a
// rejected promise, never a synchronous throw (issue #12).
import { describe, expect, it } from 'vitest';
import { ErrProposalDropped } from '../../src/raft/index.js';
import { Proposer } from '../../src/server/proposer.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import { ErrLeaseNotFound } from '../../src/server/errors.js';

function rig(opts: { leader?: boolean; maxRequestBytes?: number; timeoutMs?: number } = {}) {
  const state = { leader: opts.leader ?? true, proposed: [] as Uint8Array[] };
  const metrics = new ServerMetrics();
  const p = new Proposer({
    memberId: 1n,
    maxRequestBytes: opts.maxRequestBytes ?? 1 << 20,
    requestTimeoutMs: opts.timeoutMs ?? 2000,
    metrics,
    propose: (data) => {
      if (!state.leader) throw new ErrProposalDropped();
      state.proposed.push(data);
    },
    committedIndex: () => 0,
    appliedIndex: () => 0,
  });
  return { p, state, metrics };
}
const put = { put: { key: Buffer.from('k'), value: Buffer.from('v'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } };

describe('Proposer', () => {
  it('with a leader: proposed synchronously, answered by the applier result', async () => {
    const { p, state } = rig();
    const done = p.propose(put as never);
    expect(state.proposed).toHaveLength(1); // before any microtask ran
    p.deliver(p.nextRequestId() - 1n, { ok: true, value: 'applied' });
    await expect(done).resolves.toBe('applied');
  });

  it('without a leader: proposed once one is elected', async () => {
    const { p, state } = rig({ leader: false });
    const done = p.propose(put as never);
    await new Promise((r) => setTimeout(r, 20));
    expect(state.proposed).toHaveLength(0);
    state.leader = true;
    p.leaderElected();
    await new Promise((r) => setTimeout(r, 5));
    expect(state.proposed).toHaveLength(1);
    p.deliver(p.nextRequestId() - 1n, { ok: true, value: 1 });
    await expect(done).resolves.toBe(1);
  });

  it('without a leader until the deadline: request timed out', async () => {
    const { p } = rig({ leader: false, timeoutMs: 120 });
    await expect(p.propose(put as never)).rejects.toThrow('etcdserver: request timed out');
  });

  it('refusals are rejected promises, not throws', async () => {
    const big = rig({ maxRequestBytes: 10 });
    const r1 = big.p.propose(put as never);
    await expect(r1).rejects.toThrow('etcdserver: request is too large');
    const stopped = rig();
    stopped.p.refuseNew();
    const r2 = stopped.p.propose(put as never);
    await expect(r2).rejects.toThrow('etcdserver: server stopped');
  });

  it('with a leader: an error result rejects with it; no result before the deadline times out; either way the waiter and gauge are released', async () => {
    const gauge = async (m: ServerMetrics) => (await m.proposalsPending.get()).values[0]!.value;
    const failed = async (m: ServerMetrics) => (await m.proposalsFailed.get()).values[0]?.value ?? 0;
    const { p, metrics } = rig({ timeoutMs: 120 });
    const refused = p.propose(put as never);
    expect(await gauge(metrics)).toBe(1);
    p.deliver(p.nextRequestId() - 1n, { ok: false, error: ErrLeaseNotFound() });
    await expect(refused).rejects.toThrow('etcdserver: requested lease not found');
    expect(await gauge(metrics)).toBe(0);
    expect(await failed(metrics)).toBe(0); // applied, with an error as its answer: not a failed proposal
    const lost = p.propose(put as never);
    await expect(lost).rejects.toThrow('etcdserver: request timed out');
    expect(await gauge(metrics)).toBe(0);
    expect(await failed(metrics)).toBe(1);
    p.deliver(p.nextRequestId() - 1n, { ok: true, value: 'late' }); // a result after the timeout goes nowhere
  });

  it('a submit error other than no leader is a rejection, counted as failed', async () => {
    const metrics = new ServerMetrics();
    const broken = new Proposer({
      memberId: 2n, maxRequestBytes: 1 << 20, requestTimeoutMs: 2000, metrics,
      propose: () => { throw new Error('raft: stopped'); },
      committedIndex: () => 0, appliedIndex: () => 0,
    });
    await expect(broken.propose(put as never)).rejects.toThrow('raft: stopped');
    expect((await metrics.proposalsFailed.get()).values[0]!.value).toBe(1);
    expect((await metrics.proposalsPending.get()).values[0]!.value).toBe(0);
  });
});
