import { describe, expect, it } from 'vitest';
import { MessageType } from '../../src/raft/index.js';
import { Cluster, bytes } from './sim/cluster.js';

describe('ReadIndex', () => {
  it('leader serves a read after a heartbeat quorum round, at its commit index', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.propose(1, 'a');
    c.log = [];
    c.n(1).rn.readIndex(bytes('r1'));
    c.process();
    expect(c.n(1).readStates).toEqual([{ index: c.n(1).raft.raftLog.committed, ctx: 'r1' }]);
    expect(c.log.filter((m) => m.type === MessageType.MsgHeartbeat).length).toBe(2);
  });

  it('concurrent requests share one round; a request joining later waits for the next', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.log = [];
    c.n(1).rn.readIndex(bytes('a'));
    c.n(1).rn.readIndex(bytes('b'));
    c.n(1).rn.readIndex(bytes('c'));
    c.process();
    expect(c.n(1).readStates.map((r) => r.ctx)).toEqual(['a', 'b', 'c']);
    expect(c.log.filter((m) => m.type === MessageType.MsgHeartbeat).length).toBe(2);
  });

  it('is not answered without a quorum', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.isolate(1);
    c.n(1).rn.readIndex(bytes('x'));
    c.process();
    expect(c.n(1).readStates).toEqual([]);
    c.heal();
    c.tick(1); // the next heartbeat carries the pending round's context
    expect(c.n(1).readStates.map((r) => r.ctx)).toEqual(['x']);
  });

  it('waits until the leader has committed an entry of its term', () => {
    const c = new Cluster([1, 2, 3]);
    c.dropFn = (m) => m.type === MessageType.MsgAppResp;
    c.n(1).rn.campaign();
    c.process();
    expect(c.n(1).isLeader()).toBe(true);
    c.n(1).rn.readIndex(bytes('early'));
    c.process();
    expect(c.n(1).readStates).toEqual([]);
    c.heal();
    c.tick(2);
    expect(c.n(1).readStates.length).toBe(1);
    expect(c.n(1).readStates[0].index).toBe(c.n(1).raft.raftLog.committed);
  });

  it('a follower forwards to the leader and gets the read index back', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.propose(1, 'v');
    c.n(2).rn.readIndex(bytes('f1'));
    c.process();
    expect(c.n(2).readStates).toEqual([{ index: c.n(1).raft.raftLog.committed, ctx: 'f1' }]);
    expect(c.n(1).readStates).toEqual([]);
  });

  it('single voter answers immediately once its term has a commit', () => {
    const c = new Cluster([1]);
    c.electLeader();
    c.n(1).rn.readIndex(bytes('s'));
    c.process();
    expect(c.n(1).readStates).toEqual([{ index: c.n(1).raft.raftLog.committed, ctx: 's' }]);
  });

  it('an empty request context still gets an answer', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.n(1).rn.readIndex(new Uint8Array(0));
    c.process();
    expect(c.n(1).readStates.map((r) => r.ctx)).toEqual(['']);
  });
  it('two followers asking with the same context at once are both answered in one round', () => {
    // Contexts are the caller's ids: two members may pick the same bytes. The leader
    // must not take the second for a retry of the first (it would stall until the
    // caller's retry timer, or forever).
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.propose(1, 'v');
    c.log = [];
    c.n(2).rn.readIndex(bytes('same'));
    c.n(3).rn.readIndex(bytes('same'));
    c.process();
    const committed = c.n(1).raft.raftLog.committed;
    expect(c.n(2).readStates).toEqual([{ index: committed, ctx: 'same' }]);
    expect(c.n(3).readStates).toEqual([{ index: committed, ctx: 'same' }]);
    expect(c.count(MessageType.MsgHeartbeat)).toBe(2);
  });

  it('a late acknowledgement of an old round does not confirm a newer round of the same context', () => {
    const c = new Cluster([1, 2, 3]);
    c.n(1).rn.campaign();
    c.process();
    c.propose(1, 'v');
    c.log = [];
    c.n(2).rn.readIndex(bytes('r'));
    c.process();
    expect(c.n(2).readStates.length).toBe(1);
    const staleAck = c.log.find((m) => m.type === MessageType.MsgHeartbeatResp && m.from === 3n);
    expect(staleAck).toBeDefined();
    // A new round, with the same request context, whose heartbeats never arrive.
    c.dropFn = (m) => m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgHeartbeatResp;
    c.n(3).rn.readIndex(bytes('r'));
    c.process();
    expect(c.n(3).readStates).toEqual([]);
    // The old round's acknowledgement turns up late: it proves nothing about now.
    c.n(1).rn.step({ ...staleAck!, context: staleAck!.context ? new Uint8Array(staleAck!.context) : undefined });
    c.process();
    expect(c.n(3).readStates).toEqual([]);
    c.heal();
    c.tick(1);
    expect(c.n(3).readStates.map((r) => r.ctx)).toEqual(['r']);
  });
});
