import { describe, expect, it } from 'vitest';
import { MessageType, StateType } from '../../src/raft/index.js';
import { Cluster } from './sim/cluster.js';

describe('elections', () => {
  it('three nodes elect exactly one leader and replicate', () => {
    const c = new Cluster([1, 2, 3]);
    const l = c.electLeader();
    c.propose(l.id, 'x');
    for (const n of c.nodes.values()) expect(n.applied.at(-1)).toContain('x');
    const leaders = [...c.nodes.values()].filter((n) => n.isLeader());
    expect(leaders.length).toBe(1);
  });

  it('randomized timeout lies in [election, 2*election)', () => {
    const c = new Cluster([1, 2, 3]);
    for (let i = 0; i < 50; i++) {
      const r = c.n(1).raft;
      r.resetRandomizedElectionTimeout();
      expect(r.randomizedElectionTimeout).toBeGreaterThanOrEqual(10);
      expect(r.randomizedElectionTimeout).toBeLessThan(20);
    }
  });

  it('a partitioned old leader cannot commit; it steps down on rejoin and its entries are dropped', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    expect(c.n(1).isLeader()).toBe(true);
    c.isolate(1);
    c.propose(1, 'lost');
    c.tick(5);
    expect(c.n(1).raft.raftLog.committed).toBe(4);
    const l2 = c.tickUntil(() => c.n(2).isLeader() || c.n(3).isLeader());
    expect(l2).toBeGreaterThan(0);
    const nl = c.leader()!;
    c.propose(nl.id, 'won');
    c.heal();
    c.tick(3);
    expect(c.n(1).isLeader()).toBe(false);
    for (const n of c.nodes.values()) {
      expect(n.applied.some((s) => s.includes('lost'))).toBe(false);
      expect(n.applied.at(-1)).toContain('won');
    }
  });

  it('pre-vote stops a rejoining member from bumping the term', () => {
    const c = new Cluster([1, 2, 3], { preVote: true });
    c.n(1).rn.campaign();
    c.process();
    const term = c.n(1).raft.term;
    c.isolate(3);
    c.tick(100); // n3 keeps pre-campaigning but can never win a pre-vote
    expect(c.n(3).raft.term).toBe(term);
    expect(c.n(3).raft.state).toBe(StateType.PreCandidate);
    c.heal();
    c.tick(5);
    expect(c.n(1).isLeader()).toBe(true);
    expect(c.n(1).raft.term).toBe(term);
    expect(c.n(3).raft.lead).toBe(1n);
  });

  it('without pre-vote the rejoining member disrupts the term (control)', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    const term = c.n(1).raft.term;
    c.isolate(3);
    c.tick(50);
    expect(c.n(3).raft.term).toBeGreaterThan(term);
  });

  it('check-quorum: a leader without quorum activity steps down', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true });
    c.n(1).rn.campaign();
    c.process();
    c.isolate(1);
    c.tick(25);
    expect(c.n(1).isLeader()).toBe(false);
  });

  it('check-quorum: followers that hear a leader ignore a disruptive vote request (stickiness)', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true });
    c.n(1).rn.campaign();
    c.process();
    const term = c.n(1).raft.term;
    // n3 is forced to campaign while the leader is alive.
    c.n(3).rn.campaign();
    c.process();
    expect(c.n(1).isLeader()).toBe(true);
    expect(c.n(2).raft.term).toBe(term);
    expect(c.n(2).raft.lead).toBe(1n);
  });

  it('a stale-term message is answered so an isolated candidate learns the term (with checkQuorum)', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true });
    c.n(1).rn.campaign();
    c.process();
    c.isolate(3);
    c.tick(60);
    const t3 = c.n(3).raft.term;
    expect(t3).toBeGreaterThan(c.n(1).raft.term);
    c.heal();
    c.electLeader();
    c.tick(40);
    const l = c.leader()!;
    c.propose(l.id, 'ok');
    for (const n of c.nodes.values()) expect(n.applied.at(-1)).toContain('ok');
  });

  it('votes only for up-to-date candidates (election restriction)', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.isolate(3);
    c.propose(1, 'a');
    // n3 lacks 'a': it can't win while 1 and 2 have it.
    c.cutLink(1, 2);
    c.cutLink(1, 3);
    c.heal();
    c.isolate(1);
    c.n(3).rn.campaign();
    c.process();
    expect(c.n(3).isLeader()).toBe(false);
    expect(c.count(MessageType.MsgVoteResp)).toBeGreaterThan(0);
  });
});
