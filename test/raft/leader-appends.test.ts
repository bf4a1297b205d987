// RawNode.takeLeaderAppends: the appends a leader made since its last Ready,
// taken out while that Ready is still being written (the driver sends the ones
// that announce a commit at once: src/server/raft-node.ts announceCommit).

import { describe, expect, it } from 'vitest';
import { MemoryStorage, MessageType, RawNode, StateType, type Message, type Ready } from '../../src/raft/index.js';
import { bytes } from './sim/cluster.js';
import { seeded } from './sim/node.js';

function persist(s: MemoryStorage, rd: Ready): void {
  s.append(rd.entries);
  if (rd.hardState) s.setHardState(rd.hardState);
}

function msg(type: MessageType, from: bigint, term: number, index = 0): Message {
  return { type, to: 1n, from, term, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0 };
}

/** Member 1 of {1, 2, 3}, elected with member 2's vote, every Ready so far written and advanced. */
function leaderOfThree(): { rn: RawNode; storage: MemoryStorage; term: number } {
  const storage = new MemoryStorage();
  const rn = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage, random: seeded(1) });
  rn.bootstrap([1n, 2n, 3n].map((id) => ({ id, context: new Uint8Array(0) })));
  const drain = () => {
    while (rn.hasReady()) {
      const rd = rn.ready();
      persist(storage, rd);
      rn.advance(rd);
    }
  };
  drain();
  rn.campaign();
  drain();
  const term = rn.status().hardState.term;
  rn.step(msg(MessageType.MsgVoteResp, 2n, term));
  drain();
  expect(rn.status().softState.raftState).toBe(StateType.Leader);
  // Both followers have the leader's first entry: its term has a commit.
  const last = storage.lastIndex();
  rn.step(msg(MessageType.MsgAppResp, 2n, term, last));
  rn.step(msg(MessageType.MsgAppResp, 3n, term, last));
  drain();
  return { rn, storage, term };
}

describe('RawNode.takeLeaderAppends', () => {
  it("takes the appends that announce a commit both followers made while the leader's write is open", () => {
    const { rn, storage, term } = leaderOfThree();
    rn.propose(bytes('x'));
    const rd = rn.ready(); // being written: not advanced
    const x = rd.entries.at(-1)!.index;
    expect(rd.messages.filter((m) => m.type === MessageType.MsgApp).map((m) => m.to).sort()).toEqual([2n, 3n]);
    expect(rn.takeLeaderAppends()).toEqual([]);

    rn.step(msg(MessageType.MsgAppResp, 2n, term, x));
    // One follower and a leader whose copy is not on its disk yet: no commit, nothing to announce.
    expect(rn.status().hardState.commit).toBeLessThan(x);
    rn.step(msg(MessageType.MsgAppResp, 3n, term, x));
    expect(rn.status().hardState.commit).toBe(x);
    const taken = rn.takeLeaderAppends();
    expect(taken.map((m) => [m.type, m.to, m.commit, m.term])).toEqual([
      [MessageType.MsgApp, 2n, x, term],
      [MessageType.MsgApp, 3n, x, term],
    ]);
    // Taken out of the next Ready; the write in flight still finishes as before.
    expect(rn.takeLeaderAppends()).toEqual([]);
    persist(storage, rd);
    rn.advance(rd);
    const next = rn.ready();
    expect(next.messages.filter((m) => m.type === MessageType.MsgApp)).toEqual([]);
    expect(next.committedEntries.map((e) => e.index)).toContain(x);
  });

  it('takes nothing when anything but appends is pending: all of it stays in the Ready, in order', () => {
    const { rn } = leaderOfThree();
    rn.propose(bytes('y'));
    rn.readIndex(bytes('r')); // a read round's heartbeats join the pending appends
    const pending = rn.raft.msgs.map((m) => m.type);
    expect(pending).toContain(MessageType.MsgHeartbeat);
    expect(rn.takeLeaderAppends()).toEqual([]);
    // The Ready sends them first, then the proposal's appends (made when it is taken).
    expect(rn.ready().messages.map((m) => m.type)).toEqual([...pending, MessageType.MsgApp, MessageType.MsgApp]);
  });

  it('takes nothing on a follower', () => {
    const storage = new MemoryStorage();
    const rn = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage, random: seeded(1) });
    rn.bootstrap([1n, 2n, 3n].map((id) => ({ id, context: new Uint8Array(0) })));
    const rd = rn.ready();
    persist(storage, rd);
    rn.advance(rd);
    rn.step({ ...msg(MessageType.MsgApp, 2n, 1, 3), logTerm: 1, commit: 3 });
    expect(rn.status().softState.raftState).toBe(StateType.Follower);
    expect(rn.raft.msgs.map((m) => m.type)).toEqual([MessageType.MsgAppResp]);
    expect(rn.takeLeaderAppends()).toEqual([]);
  });
});
