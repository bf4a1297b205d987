import { describe, expect, it } from 'vitest';
import {
  ErrProposalDropped,
  MemoryStorage,
  RawNode,
  StateType,
  type Ready,
} from '../../src/raft/index.js';
import { Cluster, bytes } from './sim/cluster.js';
import { SimNode, seeded } from './sim/node.js';

function persist(s: MemoryStorage, rd: Ready): void {
  if (rd.snapshot) s.applySnapshot(rd.snapshot);
  s.append(rd.entries);
  if (rd.hardState) s.setHardState(rd.hardState);
}

describe('single voter', () => {
  it('bootstraps, elects itself on election timeout and commits after own persistence', () => {
    const storage = new MemoryStorage();
    const rn = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage, random: seeded(1) });
    rn.bootstrap([{ id: 1n, context: new Uint8Array(0) }]);
    let rd = rn.ready();
    expect(rd.entries.length).toBe(1);
    expect(rd.committedEntries.length).toBe(1);
    expect(rd.hardState).toEqual({ term: 1, vote: 0n, commit: 1 });
    persist(storage, rd);
    rn.advance(rd);
    expect(rn.hasReady()).toBe(false);
    for (let i = 0; i < 20 && rn.status().softState.raftState !== StateType.Leader; i++) rn.tick();
    expect(rn.status().softState.raftState).toBe(StateType.Leader);
    rd = rn.ready();
    expect(rd.softState?.raftState).toBe(StateType.Leader);
    expect(rd.entries.length).toBe(1); // the empty entry of the new term
    expect(rd.committedEntries.length).toBe(0); // not yet on our disk
    persist(storage, rd);
    rn.advance(rd);
    expect(rn.hasReady()).toBe(true);
    rd = rn.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([2]);
    persist(storage, rd);
    rn.advance(rd);

    rn.propose(bytes('a'));
    rd = rn.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([3]);
    expect(rd.messages.length).toBe(0);
    persist(storage, rd);
    rn.advance(rd);
    rd = rn.ready();
    expect(rd.committedEntries.map((e) => new TextDecoder().decode(e.data))).toEqual(['a']);
    expect(rd.hardState?.commit).toBe(3);
    persist(storage, rd);
    rn.advance(rd);
    expect(rn.status().applied).toBe(3);
  });

  it('campaign() elects at once; read index answers once its term has a commit', () => {
    const n = new SimNode(1n, {});
    n.rn.bootstrap([{ id: 1n, context: new Uint8Array(0) }]);
    n.rn.campaign();
    while (n.rn.hasReady()) n.handleReady();
    expect(n.isLeader()).toBe(true);
    n.rn.readIndex(bytes('r1'));
    n.handleReady();
    expect(n.readStates).toEqual([{ index: 2, ctx: 'r1' }]);
  });

  it('propose without a leader throws ErrProposalDropped', () => {
    const n = new SimNode(1n, {});
    n.rn.bootstrap([{ id: 1n, context: new Uint8Array(0) }, { id: 2n, context: new Uint8Array(0) }]);
    expect(() => n.rn.propose(bytes('x'))).toThrow(ErrProposalDropped);
  });

  it('restarts from persisted state and re-hands unapplied committed entries', () => {
    const c = new Cluster([1]);
    c.electLeader();
    c.propose(1, 'a');
    c.propose(1, 'b');
    const n = c.n(1);
    expect(n.applied.length).toBe(4);
    const hs = n.storage.initialState().hardState;
    expect(hs.commit).toBe(4);
    // A new RawNode over the same storage with applied=2 hands out 3..4 again.
    const rn = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: n.storage, applied: 2, random: seeded(3) });
    const rd = rn.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([3, 4]);
    rn.advance(rd);
    rn.campaign();
    let r2 = rn.ready();
    expect(rn.status().softState.raftState).toBe(StateType.Leader);
    expect(r2.hardState?.term).toBe(hs.term + 1);
    persist(n.storage, r2);
    rn.advance(r2);
    rn.propose(bytes('c'));
    const got: number[] = [];
    while (rn.hasReady()) {
      r2 = rn.ready();
      persist(n.storage, r2);
      got.push(...r2.committedEntries.map((e) => e.index));
      rn.advance(r2);
    }
    expect(got).toEqual([5, 6]);
  });

  it('restart via SimNode crash keeps the log and keeps committing', () => {
    const c = new Cluster([1]);
    c.electLeader();
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    const before = [...c.n(1).applied];
    c.n(1).crash();
    c.n(1).restart();
    c.process();
    expect(c.n(1).applied).toEqual(before);
    c.electLeader();
    c.propose(1, 'after');
    expect(c.n(1).applied.at(-1)).toContain('after');
  });
});
