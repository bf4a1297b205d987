import { describe, expect, it } from 'vitest';
import { ConfChangeType, EntryType, ErrProposalDropped, MessageType } from '../../src/raft/index.js';
import { bcastCommit } from '../../src/raft/leader.js';
import { Cluster, bytes } from './sim/cluster.js';

const cc = (type: ConfChangeType, id: number) => ({ type, nodeId: BigInt(id), context: new Uint8Array(0) });

describe('replication', () => {
  it('Figure 8: an old-term entry on a majority is not committed by counting, and may be overwritten', () => {
    const c = new Cluster([1, 2, 3, 4, 5], { maxSizePerMsg: 1 });
    c.n(1).rn.campaign();
    c.process();
    expect(c.n(1).raft.term).toBe(2);
    const base = c.n(1).raft.raftLog.committed; // 6: five bootstrap entries + empty entry
    // (a) S1 replicates 'a' (term 2) to S2 only.
    c.partition([1, 2], [3, 4, 5]);
    c.propose(1, 'a');
    expect(c.n(2).raft.raftLog.lastIndex()).toBe(base + 1);
    // (b) S1 crashes; S5 wins term 3 with S3, S4 and writes its own entry at the same index, unreplicated.
    c.n(1).crash();
    c.heal();
    c.dropFn = (m) => m.from === 5n && m.type === MessageType.MsgApp;
    c.n(5).rn.campaign();
    c.process();
    expect(c.n(5).isLeader()).toBe(true);
    expect(c.n(5).raft.term).toBe(3);
    // (c) S5 crashes; S1 restarts, wins term 4 and copies 'a' to S3 (not its term-4 entry).
    c.n(5).crash();
    c.n(1).restart();
    // Strip the new leader's own term-4 entry from appends so only 'a' spreads.
    c.dropFn = (m) => {
      if (m.type === MessageType.MsgApp) m.entries = m.entries.filter((e) => e.index <= base + 1);
      return false;
    };
    for (let i = 0; i < 5 && !c.n(1).isLeader(); i++) {
      c.n(1).rn.campaign();
      c.process();
    }
    expect(c.n(1).isLeader()).toBe(true);
    expect(c.n(1).raft.term).toBeGreaterThanOrEqual(4);
    const holders = [1, 2, 3, 4].filter((id) => c.n(id).raft.raftLog.termOr0(base + 1) === 2);
    expect(holders.length).toBeGreaterThanOrEqual(3); // on a majority of five ...
    expect(c.n(1).raft.raftLog.committed).toBe(base); // ... yet not committed
    // (d) S1 crashes; S5 returns, is elected, and overwrites 'a'. Nothing committed was lost.
    c.n(1).crash();
    c.n(5).restart();
    c.heal();
    c.tickUntil(() => c.leader() !== undefined, 500);
    const l = c.leader()!;
    c.propose(l.id, 'after');
    c.n(1).restart();
    c.tick(20);
    const seqs = [...c.nodes.values()].map((n) => n.applied);
    for (const s of seqs) for (let i = 0; i < Math.min(s.length, seqs[0].length); i++) expect(s[i]).toBe(seqs[0][i]);
  });

  it('leader commits only with a voter majority; learners are never counted', () => {
    const c = new Cluster([1, 2, 3, 4], {}, [1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.n(1).rn.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4));
    c.process();
    c.tick(3);
    expect(c.n(4).confState.learners).toEqual([4n]);
    expect(c.n(4).applied.length).toBe(c.n(1).applied.length);
    c.isolate(2);
    c.isolate(3);
    c.heal();
    c.partition([1, 4], [2, 3]);
    const commit = c.n(1).raft.raftLog.committed;
    c.propose(1, 'x');
    expect(c.n(4).raft.raftLog.lastIndex()).toBe(commit + 1);
    expect(c.n(1).raft.raftLog.committed).toBe(commit);
    // The learner never campaigns, however long it is cut off.
    c.heal();
    c.isolate(4);
    c.tick(100);
    expect(c.n(4).raft.term).toBeLessThanOrEqual(c.n(1).raft.term);
    expect(c.n(4).isLeader()).toBe(false);
    // Promotion: AddNode on a learner makes it a voter.
    c.heal();
    c.tickUntil(() => c.leader() !== undefined);
    c.leader()!.rn.proposeConfChange(cc(ConfChangeType.AddNode, 4));
    c.process();
    c.tick(3);
    expect(c.n(4).confState.voters).toEqual([1n, 2n, 3n, 4n]);
    expect(c.n(4).confState.learners).toEqual([]);
  });

  it('only one conf change may be pending; a second becomes an empty entry', () => {
    const c = new Cluster([1, 2, 3, 4, 5], {}, [1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.n(1).rn.proposeConfChange(cc(ConfChangeType.AddNode, 4));
    c.n(1).rn.proposeConfChange(cc(ConfChangeType.AddNode, 5));
    c.process();
    c.tick(3);
    expect(c.n(1).confState.voters).toEqual([1n, 2n, 3n, 4n]);
    // After the first is applied a new one is accepted.
    c.n(1).rn.proposeConfChange(cc(ConfChangeType.AddNode, 5));
    c.process();
    c.tick(3);
    expect(c.n(1).confState.voters).toEqual([1n, 2n, 3n, 4n, 5n]);
  });

  it('removing the leader makes it step down; the rest elect a leader and commit', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true, preVote: true });
    c.n(1).rn.campaign();
    c.process();
    c.n(1).rn.proposeConfChange(cc(ConfChangeType.RemoveNode, 1));
    c.process();
    expect(c.n(1).isLeader()).toBe(false);
    expect(c.n(1).confState.voters).toEqual([2n, 3n]);
    c.tickUntil(() => c.n(2).isLeader() || c.n(3).isLeader(), 200);
    const l = c.leader()!;
    c.propose(l.id, 'after-removal');
    expect(c.n(2).applied.at(-1)).toContain('after-removal');
    expect(c.n(3).applied.at(-1)).toContain('after-removal');
    c.tick(100);
    expect(c.n(1).isLeader()).toBe(false);
  });

  it('leadership transfer: lagging target catches up, then takes over', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.propose(1, `p${i}`);
    c.heal();
    c.n(1).rn.transferLeadership(3n);
    c.process();
    expect(c.n(3).isLeader()).toBe(true);
    expect(c.n(1).raft.lead).toBe(3n);
    c.propose(3, 'new');
    for (const n of c.nodes.values()) expect(n.applied.at(-1)).toContain('new');
  });

  it('leadership transfer requested on a follower is forwarded to the leader', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.n(2).rn.transferLeadership(3n);
    c.process();
    expect(c.n(3).isLeader()).toBe(true);
  });

  it('leadership transfer drops proposals while in progress and aborts after an election timeout', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.isolate(3);
    c.propose(1, 'x');
    c.n(1).rn.transferLeadership(3n);
    c.process();
    expect(c.n(1).rn.status().leadTransferee).toBe(3n);
    expect(() => c.n(1).rn.propose(bytes('y'))).toThrow(ErrProposalDropped);
    c.tick(11);
    expect(c.n(1).rn.status().leadTransferee).toBe(0n);
    expect(c.n(1).isLeader()).toBe(true);
    c.propose(1, 'z');
    expect(c.n(2).applied.at(-1)).toContain('z');
  });

  describe('proposals a follower forwards during a leadership transfer', () => {
    /** How many times each member applied an entry with `data`. */
    const appliedCount = (c: Cluster, data: string): number[] =>
      [...c.nodes.values()].map((n) => n.applied.filter((s) => s.endsWith(`/${data}`)).length);

    /** 1 leads; 3 lags (nothing reaches it), so a transfer to it stays in progress. */
    const transferring = (to: number): Cluster => {
      const c = new Cluster([1, 2, 3]);
      c.n(1).rn.campaign();
      c.process();
      c.dropFn = (m) => m.to === 3n;
      c.propose(1, 'lag');
      c.n(1).rn.transferLeadership(BigInt(to));
      c.process();
      expect(c.n(1).rn.status().leadTransferee).toBe(BigInt(to));
      return c;
    };

    it('are held by the leader, then forwarded to the new leader and committed once', () => {
      const c = transferring(3);
      const last = c.n(1).raft.raftLog.lastIndex();
      c.n(2).rn.propose(bytes('fwd')); // 2's core forwards it to 1 as a MsgProp
      c.process();
      expect(c.n(1).raft.heldProposals.length).toBe(1);
      expect(c.n(1).raft.raftLog.lastIndex()).toBe(last); // held, not appended
      c.heal();
      c.tickUntil(() => c.n(3).isLeader());
      c.tick(3);
      expect(c.n(1).raft.heldProposals).toEqual([]);
      // The new leader's term: it was appended there, not by the old leader.
      expect(c.n(3).applied.filter((s) => s.endsWith('/fwd'))).toEqual([`${c.n(3).raft.term}/0/fwd`]);
      expect(appliedCount(c, 'fwd')).toEqual([1, 1, 1]);
      expect(c.n(2).applied).toEqual(c.n(3).applied);
      expect(c.n(1).applied).toEqual(c.n(3).applied);
    });

    it('when the proposer itself becomes leader, it gets its own proposal back and commits it once', () => {
      const c = new Cluster([1, 2, 3]);
      c.n(1).rn.campaign();
      c.process();
      c.dropFn = (m) => m.to === 2n && m.from === 1n; // 2 lags: the transfer to it waits
      c.propose(1, 'lag');
      c.n(1).rn.transferLeadership(2n);
      c.process();
      c.n(2).rn.propose(bytes('mine'));
      c.process();
      expect(c.n(1).raft.heldProposals.length).toBe(1);
      c.heal();
      c.tickUntil(() => c.n(2).isLeader());
      c.tick(3);
      expect(appliedCount(c, 'mine')).toEqual([1, 1, 1]);
      expect(c.n(1).raft.heldProposals).toEqual([]);
    });

    it('are appended by the leader itself when the transfer is aborted', () => {
      const c = transferring(3);
      c.n(2).rn.propose(bytes('fwd'));
      c.process();
      expect(c.n(1).raft.heldProposals.length).toBe(1);
      c.tick(11); // the transfer times out after an election timeout; 3 is still cut off
      expect(c.n(1).rn.status().leadTransferee).toBe(0n);
      expect(c.n(1).isLeader()).toBe(true);
      expect(c.n(1).raft.heldProposals).toEqual([]);
      expect(c.n(1).applied.filter((s) => s.endsWith('/fwd'))).toEqual([`${c.n(1).raft.term}/0/fwd`]);
      c.heal();
      c.tick(3);
      expect(appliedCount(c, 'fwd')).toEqual([1, 1, 1]);
    });

    it('local proposals on the transferring leader are still refused synchronously (their proposer retries)', () => {
      const c = transferring(3);
      expect(() => c.n(1).rn.propose(bytes('local'))).toThrow(ErrProposalDropped);
      expect(c.n(1).raft.heldProposals).toEqual([]);
    });

    it('a member without a leader holds a forwarded proposal, bounded in time', () => {
      const c = new Cluster([1, 2, 3]);
      c.isolate(2);
      // What 1's core sends when it forwards a proposal: a MsgProp of term 0.
      c.n(2).rn.step({
        type: MessageType.MsgProp, to: 2n, from: 1n, term: 0, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0,
        entries: [{ term: 0, index: 0, type: EntryType.Normal, data: bytes('orphan'), encoded: undefined }],
      });
      expect(c.n(2).raft.heldProposals.length).toBe(1);
      c.tick(19); // 2 campaigns in vain meanwhile
      expect(c.n(2).raft.heldProposals.length).toBe(1);
      c.tick(1); // two election timeouts (electionTick 10)
      expect(c.n(2).raft.heldProposals).toEqual([]);
      c.heal();
      c.electLeader();
      c.tick(3);
      expect(appliedCount(c, 'orphan')).toEqual([0, 0, 0]);
    });
  });

  it('a lagging follower whose next entry was compacted gets a snapshot and catches up', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.isolate(3);
    for (let i = 0; i < 20; i++) c.propose(1, `v${i}`);
    expect(c.n(1).compact(2)).toBe(true);
    c.heal();
    c.tick(3);
    expect(c.count(MessageType.MsgSnap)).toBe(1);
    expect(c.n(3).applied).toEqual(c.n(1).applied);
    expect(c.n(3).storage.snapshot().metadata.index).toBeGreaterThan(0);
    c.propose(1, 'post');
    expect(c.n(3).applied.at(-1)).toContain('post');
    expect(c.n(1).rn.status().progress.get(3n)?.state).toBe('replicate');
  });

  it('fast back-off: a long divergent tail is skipped in a few round trips', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.isolate(1);
    for (let i = 0; i < 50; i++) c.n(1).rn.propose(bytes(`stale${i}`));
    c.process();
    c.tickUntil(() => c.n(2).isLeader() || c.n(3).isLeader());
    const l = c.leader()!;
    for (let i = 0; i < 5; i++) c.propose(l.id, `fresh${i}`);
    c.log = [];
    c.heal();
    c.tick(5);
    const rejects = c.log.filter((m) => m.type === MessageType.MsgAppResp && m.reject && m.from === 1n).length;
    expect(rejects).toBeLessThanOrEqual(3);
    expect(c.n(1).applied).toEqual(l.applied);
  });

  it('batches many proposals into one append, and bounds in-flight appends', () => {
    const c = new Cluster([1, 2, 3], { maxInflightMsgs: 2 });
    c.n(1).rn.campaign();
    c.process();
    c.log = [];
    for (let i = 0; i < 100; i++) c.n(1).rn.propose(bytes(`b${i}`));
    c.process();
    const apps = c.log.filter((m) => m.type === MessageType.MsgApp && m.to === 2n && m.entries.length > 0);
    expect(apps.length).toBe(1);
    expect(apps[0].entries.length).toBe(100);
    // With followers silent, at most maxInflightMsgs appends go out per follower.
    c.dropFn = (m) => m.type === MessageType.MsgAppResp;
    c.log = [];
    for (let i = 0; i < 10; i++) {
      c.n(1).rn.propose(bytes(`c${i}`));
      c.process();
    }
    const sent = c.log.filter((m) => m.type === MessageType.MsgApp && m.to === 2n && m.entries.length > 0).length;
    expect(sent).toBe(2);
    c.heal();
    c.tick(3);
    expect(c.n(2).applied.length).toBe(c.n(1).applied.length);
  });

  it('maxSizePerMsg splits large backlogs', () => {
    const c = new Cluster([1, 2, 3], { maxSizePerMsg: 200 });
    c.n(1).rn.campaign();
    c.process();
    c.isolate(3);
    for (let i = 0; i < 30; i++) c.propose(1, `entry-${i}-xxxxxxxxxxxx`);
    c.log = [];
    c.heal();
    c.tick(2);
    const apps = c.log.filter((m) => m.type === MessageType.MsgApp && m.to === 3n && m.entries.length > 0);
    expect(apps.length).toBeGreaterThan(3);
    for (const m of apps) expect(m.entries.length).toBeLessThan(10);
    expect(c.n(3).applied).toEqual(c.n(1).applied);
  });

  it('maxUncommittedEntriesSize drops proposals once the budget is used', () => {
    const c = new Cluster([1, 2, 3], { maxUncommittedEntriesSize: 100 });
    c.n(1).rn.campaign();
    c.process();
    c.isolate(1);
    let dropped = 0;
    for (let i = 0; i < 20; i++) {
      try {
        c.n(1).rn.propose(bytes('0123456789'));
      } catch (e) {
        expect(e).toBeInstanceOf(ErrProposalDropped);
        dropped++;
      }
    }
    expect(dropped).toBe(10);
    c.heal();
    c.process();
    c.tick(3);
    c.n(1).rn.propose(bytes('ok again'));
  });

  it('heartbeats carry min(match, commit)', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.isolate(3);
    c.propose(1, 'a');
    c.heal();
    c.dropFn = (m) => m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeatResp;
    c.log = [];
    c.tick(1);
    const hb = c.log.filter((m) => m.type === MessageType.MsgHeartbeat && m.to === 3n);
    expect(hb.length).toBe(1);
    expect(hb[0].commit).toBeLessThan(c.n(1).raft.raftLog.committed);
  });

  describe('commit notices', () => {
    const notices = (c: Cluster) =>
      c.log.filter((m) => m.type === MessageType.MsgApp && m.entries.length === 0).map((m) => [Number(m.to), m.index, m.commit, m.commitOnly === true]);
    const answers = (c: Cluster) =>
      c.log.filter((m) => m.type === MessageType.MsgAppResp).map((m) => [Number(m.from), m.index, m.reject]);

    it('to a follower known to hold the log are commit-only and go unanswered', () => {
      const c = new Cluster([1, 2, 3]);
      c.n(1).rn.campaign();
      c.process();
      c.log = [];
      c.propose(1, 'a');
      const last = c.n(1).raft.raftLog.lastIndex();
      expect(notices(c)).toEqual([
        [2, last, last, true],
        [3, last, last, true],
      ]);
      // Each follower answered the entry once, and not its notice.
      expect(answers(c)).toEqual([
        [2, last, false],
        [3, last, false],
      ]);
      for (const id of [1, 2, 3]) expect(c.n(id).applied.at(-1)).toContain('a');
      expect(c.n(1).rn.status().progress.get(2n)).toMatchObject({ state: 'replicate', match: last });
    });

    it('that a follower cannot place (it missed the entries) are rejected, answered, and it catches up', () => {
      const c = new Cluster([1, 2, 3]);
      c.n(1).rn.campaign();
      c.process();
      c.dropFn = (m) => m.type === MessageType.MsgApp && m.to === 3n && m.entries.length > 0;
      c.log = [];
      c.propose(1, 'a');
      const last = c.n(1).raft.raftLog.lastIndex();
      expect(notices(c)).toContainEqual([3, last, last, true]);
      expect(answers(c)).toContainEqual([3, last, true]);
      c.dropFn = undefined;
      c.tick(2);
      expect(c.n(3).applied).toEqual(c.n(1).applied);
      expect(c.n(1).rn.status().progress.get(3n)).toMatchObject({ state: 'replicate', match: last });
    });

    it('leave a lost acknowledgement to the next heartbeat, whose answer gets an ordinary append', () => {
      const c = new Cluster([1, 2, 3]);
      c.n(1).rn.campaign();
      c.process();
      c.dropFn = (m) => m.type === MessageType.MsgAppResp && m.from === 3n;
      c.propose(1, 'a');
      const last = c.n(1).raft.raftLog.lastIndex();
      expect(c.n(3).raft.raftLog.committed).toBe(last);
      expect(c.n(1).rn.status().progress.get(3n)!.match).toBeLessThan(last);
      c.dropFn = undefined;
      c.log = [];
      c.tick(1);
      const append = c.log.find((m) => m.type === MessageType.MsgApp && m.to === 3n);
      expect(append).toMatchObject({ index: last, entries: [] });
      expect(append!.commitOnly).toBeUndefined();
      expect(answers(c)).toEqual([[3, last, false]]);
      expect(c.n(1).rn.status().progress.get(3n)!.match).toBe(last);
    });

    it('with entries are answered whatever the flag says (only an empty notice goes unanswered)', () => {
      const c = new Cluster([1, 2, 3]);
      c.n(1).rn.campaign();
      c.process();
      const r = c.n(2).raft;
      const last = r.raftLog.lastIndex();
      c.n(2).rn.step({
        type: MessageType.MsgApp, from: 1n, to: 2n, term: r.term, logTerm: r.term, index: last,
        entries: [{ term: r.term, index: last + 1, type: EntryType.Normal, data: bytes('x'), encoded: undefined }],
        commit: r.raftLog.committed, reject: false, rejectHint: 0, commitOnly: true,
      });
      // The follower's own Ready (not delivered: the leader never had that entry).
      const out = c.n(2).handleReady();
      expect(out.filter((m) => m.type === MessageType.MsgAppResp).map((m) => [m.index, m.reject])).toEqual([[last + 1, false]]);
    });

    it('to a follower in probe state are ordinary appends, answered (a probe needs its answer)', () => {
      const c = new Cluster([1, 2, 3]);
      c.n(1).rn.campaign();
      c.process();
      c.propose(1, 'a');
      const last = c.n(1).raft.raftLog.lastIndex();
      c.n(1).rn.reportUnreachable(2n);
      expect(c.n(1).rn.status().progress.get(2n)).toMatchObject({ state: 'probe', match: last });
      c.log = [];
      bcastCommit(c.n(1).raft);
      c.process();
      expect(notices(c)).toEqual([
        [2, last, last, false],
        [3, last, last, true],
      ]);
      expect(answers(c)).toEqual([[2, last, false]]);
    });
  });
});
