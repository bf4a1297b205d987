import { describe, expect, it } from 'vitest';
import { ConfChangeType, MessageType } from '../../src/raft/index.js';
import { newMessage } from '../../src/raft/util.js';
import { Cluster, bytes } from './sim/cluster.js';

const cc = (type: ConfChangeType, id: number) => ({ type, nodeId: BigInt(id), context: new Uint8Array(0) });

/** A cluster of `ids` with node 1 elected and everything committed and applied. */
function led(ids: number[]): Cluster {
  const c = new Cluster(ids);
  c.n(1).rn.campaign();
  c.process();
  c.tick(2);
  return c;
}

const hints = (c: Cluster) => c.log.filter((m) => m.type === MessageType.MsgLeaderPersisted);

describe('a follower commits its forwarded proposal from the leader\'s persisted hint', () => {
  it('commits and applies it before the leader has any acknowledgement', () => {
    const c = led([1, 2, 3]);
    const base = c.n(1).raft.raftLog.committed;
    c.log = [];
    // The leader hears no acknowledgement: only the hint can commit the entry.
    c.dropFn = (m) => m.type === MessageType.MsgAppResp;
    c.propose(2, 'x');
    expect(hints(c).map((m) => [m.to, m.index])).toEqual([[2n, base + 1]]);
    expect(c.n(1).raft.raftLog.committed).toBe(base);
    expect(c.n(2).raft.raftLog.committed).toBe(base + 1);
    expect(c.n(2).applied.at(-1)).toMatch(/\/x$/);
    // The other follower has it but learns the commit only from the leader.
    expect(c.n(3).raft.raftLog.lastIndex()).toBe(base + 1);
    expect(c.n(3).raft.raftLog.committed).toBe(base);
    // A read on the leader is not served below what the follower committed.
    c.n(1).rn.readIndex(bytes('r'));
    c.process();
    c.heal();
    c.tick(2);
    expect(c.n(1).readStates).toEqual([{ index: base + 1, ctx: 'r' }]);
    expect(c.n(1).raft.raftLog.committed).toBe(base + 1);
    expect(c.n(3).applied).toEqual(c.n(2).applied);
  });

  it('is not sent for the leader\'s own proposals, nor once acknowledgements committed them', () => {
    const c = led([1, 2, 3]);
    c.log = [];
    c.propose(1, 'own');
    expect(hints(c)).toEqual([]);
    // Both followers' acknowledgements come before the leader's own write ends
    // and commit the entry (the leader counts its copy only once on disk): no hint.
    const n1 = c.n(1);
    const base = n1.raft.raftLog.committed;
    const prop = newMessage(MessageType.MsgProp, 1n, 2n);
    prop.entries = [{ term: 0, index: 0, type: 0, data: bytes('fwd'), encoded: undefined }];
    n1.rn.step(prop);
    const rd = n1.rn.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([base + 1]);
    for (const m of rd.messages) c.n(m.to).rn.step(m);
    for (const id of [2, 3]) for (const m of c.n(id).handleReady()) if (m.to === 1n) n1.rn.step(m);
    expect(n1.raft.raftLog.committed).toBe(base + 1);
    n1.storage.append(rd.entries);
    if (rd.hardState) n1.storage.setHardState(rd.hardState);
    n1.rn.advance(rd);
    expect(n1.raft.msgs.filter((m) => m.type === MessageType.MsgLeaderPersisted)).toEqual([]);
    expect(n1.raft.trk.progress.get(2n)!.forwardedUpTo).toBe(0);
  });

  it('is not sent with more than three voters', () => {
    const c = led([1, 2, 3, 4, 5]);
    const base = c.n(1).raft.raftLog.committed;
    c.log = [];
    c.dropFn = (m) => m.type === MessageType.MsgAppResp;
    c.propose(2, 'x');
    expect(hints(c)).toEqual([]);
    expect(c.n(2).raft.raftLog.committed).toBe(base);
  });

  it('is not sent while a membership change is not applied on the leader', () => {
    const c = led([1, 2, 3]);
    const base = c.n(1).raft.raftLog.committed;
    c.log = [];
    // The change and a proposal, neither committed: the leader hears no acknowledgement.
    c.dropFn = (m) => m.type === MessageType.MsgAppResp;
    c.n(1).rn.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4));
    c.process();
    c.propose(2, 'x');
    expect(hints(c)).toEqual([]);
    expect(c.n(2).raft.raftLog.committed).toBe(base);
  });

  it('a follower counts a hint only from its leader, in its term, up to what it holds from that leader', () => {
    const c = led([1, 2, 3]);
    const n2 = c.n(2);
    const base = n2.raft.raftLog.committed;
    c.dropFn = (m) => m.type === MessageType.MsgAppResp || m.type === MessageType.MsgLeaderPersisted || m.type === MessageType.MsgHeartbeat;
    c.propose(2, 'a');
    c.propose(2, 'b');
    expect(n2.raft.raftLog.lastIndex()).toBe(base + 2);
    expect(n2.raft.raftLog.committed).toBe(base);
    const hint = (from: bigint, term: number, index: number) => {
      const m = newMessage(MessageType.MsgLeaderPersisted, 2n, from);
      m.term = term;
      m.index = index;
      n2.rn.step(m);
    };
    hint(3n, n2.raft.term, base + 2); // not the leader
    expect(n2.raft.raftLog.committed).toBe(base);
    hint(1n, n2.raft.term, base + 1); // the leader, as far as 'a'
    expect(n2.raft.raftLog.committed).toBe(base + 1);
    // Beyond what the leader sent it: only what it matched.
    n2.raft.matchedLeader = base + 1;
    hint(1n, n2.raft.term, base + 5);
    expect(n2.raft.raftLog.committed).toBe(base + 1);
    n2.raft.matchedLeader = base + 2;
    hint(1n, n2.raft.term, base + 2);
    expect(n2.raft.raftLog.committed).toBe(base + 2);
  });

  it('a follower whose own copy is not yet on disk commits once it is', () => {
    const c = led([1, 2, 3]);
    const n2 = c.n(2);
    const base = n2.raft.raftLog.committed;
    c.dropFn = (m) => m.type === MessageType.MsgAppResp || m.type === MessageType.MsgLeaderPersisted || m.type === MessageType.MsgHeartbeat;
    // Hold the follower's append back: deliver it by hand, with the hint, before its Ready.
    const held: import('../../src/raft/index.js').Message[] = [];
    c.dropFn = (m) => {
      if (m.to === 2n && m.type === MessageType.MsgApp && m.entries.length > 0) {
        held.push(m);
        return true;
      }
      return m.type === MessageType.MsgAppResp || m.type === MessageType.MsgLeaderPersisted || m.type === MessageType.MsgHeartbeat;
    };
    c.propose(2, 'a');
    expect(held.length).toBe(1);
    n2.rn.step(held[0]!);
    const m = newMessage(MessageType.MsgLeaderPersisted, 2n, 1n);
    m.term = n2.raft.term;
    m.index = base + 1;
    n2.rn.step(m);
    expect(n2.raft.raftLog.stableIndex()).toBe(base);
    expect(n2.raft.raftLog.committed).toBe(base);
    n2.handleReady(); // its write, then advance
    expect(n2.raft.raftLog.committed).toBe(base + 1);
  });

  it('a new term forgets the hint', () => {
    const c = led([1, 2, 3]);
    const n2 = c.n(2);
    const m = newMessage(MessageType.MsgLeaderPersisted, 2n, 1n);
    m.term = n2.raft.term;
    m.index = n2.raft.raftLog.lastIndex();
    n2.rn.step(m);
    expect(n2.raft.leaderPersisted).toBe(m.index);
    n2.raft.becomeFollower(n2.raft.term + 1, 3n);
    expect(n2.raft.leaderPersisted).toBe(0);
    expect(n2.raft.matchedLeader).toBe(0);
  });
});
