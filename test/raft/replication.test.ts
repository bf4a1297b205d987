import { describe, expect, it } from 'vitest';
import { ConfChangeType, ErrProposalDropped, MessageType } from '../../src/raft/index.js';
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
});
