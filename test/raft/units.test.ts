import { describe, expect, it } from 'vitest';
import {
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  EntryType,
  MemoryStorage,
  MessageType,
  RawNode,
  decodeMessage,
  encodeMessage,
  ErrStepLocalMsg,
  type Entry,
} from '../../src/raft/index.js';
import { Inflights } from '../../src/raft/inflights.js';
import { Progress } from '../../src/raft/progress.js';
import { committedIndex, voteResult } from '../../src/raft/quorum.js';
import { RaftLog } from '../../src/raft/log.js';

const ent = (index: number, term: number, data = ''): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new TextEncoder().encode(data),
  encoded: undefined,
});

describe('MemoryStorage', () => {
  it('appends, overwrites conflicting suffixes, compacts and snapshots', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 2)]);
    expect(s.lastIndex()).toBe(3);
    s.append([ent(3, 3), ent(4, 3)]);
    expect(s.term(3)).toBe(3);
    expect(s.entries(1, 5).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(s.entries(1, 5, 1).length).toBe(1);
    s.createSnapshot(3, { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, new Uint8Array([9]));
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(3)).toBe(3);
    expect(() => s.term(2)).toThrow(ErrCompacted);
    expect(() => s.term(9)).toThrow(ErrUnavailable);
    expect(() => s.entries(2, 4)).toThrow(ErrCompacted);
    expect(() => s.createSnapshot(2, undefined, new Uint8Array())).toThrow(ErrSnapOutOfDate);
    expect(s.initialState().confState.voters).toEqual([1n]);
    s.applySnapshot({ metadata: { index: 10, term: 4, confState: s.snapshot().metadata.confState }, data: new Uint8Array() });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
  });
});

describe('Inflights and Progress', () => {
  it('inflights is a bounded ring freed by acknowledgement', () => {
    const f = new Inflights(3);
    f.add(1);
    f.add(2);
    f.add(3);
    expect(f.full()).toBe(true);
    f.freeLE(2);
    expect(f.count).toBe(1);
    f.add(4);
    f.add(5);
    expect(f.full()).toBe(true);
    f.freeFirstOne();
    expect(f.count).toBe(2);
    f.freeLE(10);
    expect(f.count).toBe(0);
  });

  it('progress backs off on rejection using the hint, ignores stale rejections', () => {
    const p = new Progress(11, 4, false);
    expect(p.maybeDecrTo(10, 5)).toBe(true);
    expect(p.next).toBe(6);
    expect(p.maybeDecrTo(10, 3)).toBe(false); // stale
    p.maybeUpdate(5);
    p.becomeReplicate();
    expect(p.next).toBe(6);
    p.optimisticUpdate(9);
    expect(p.maybeDecrTo(4, 0)).toBe(false);
    expect(p.maybeDecrTo(8, 0)).toBe(true);
    expect(p.next).toBe(6);
  });

  it('quorum arithmetic', () => {
    const m = new Map([[1n, 5], [2n, 3], [3n, 9]]);
    expect(committedIndex([1n, 2n, 3n], (id) => m.get(id)!)).toBe(5);
    expect(committedIndex([1n, 2n, 3n, 4n], (id) => m.get(id) ?? 0)).toBe(3);
    expect(voteResult([1n, 2n, 3n], new Map([[1n, true]]))).toBe('pending');
    expect(voteResult([1n, 2n, 3n], new Map([[1n, true], [2n, true]]))).toBe('won');
    expect(voteResult([1n, 2n, 3n], new Map([[1n, false], [2n, false]]))).toBe('lost');
  });
});

describe('RaftLog', () => {
  it('finds conflicts by term for fast back-off', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2), ent(5, 4)]);
    const l = new RaftLog(s, 1 << 20);
    expect(l.findConflictByTerm(5, 3)).toBe(4);
    expect(l.findConflictByTerm(5, 1)).toBe(2);
    expect(l.findConflictByTerm(5, 5)).toBe(5);
    expect(l.maybeAppend(5, 4, 5, [ent(6, 5)])).toBe(6);
    expect(l.maybeAppend(6, 9, 6, [])).toBe(-1);
    expect(l.committed).toBe(5);
    expect(l.isUpToDate(6, 5)).toBe(true);
    expect(l.isUpToDate(9, 4)).toBe(false);
  });
});

describe('RawNode input checks and codec', () => {
  it('rejects local message types from peers', () => {
    const rn = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage(), random: () => 0.5 });
    const m = { type: MessageType.MsgHup, to: 1n, from: 2n, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
    expect(() => rn.step(m)).toThrow(ErrStepLocalMsg);
  });

  it('messages survive an encode/decode round trip', () => {
    const m = {
      type: MessageType.MsgApp,
      to: 0xffff_ffff_ffff_fff1n,
      from: 2n,
      term: 7,
      logTerm: 6,
      index: 100,
      entries: [ent(101, 7, 'x'), ent(102, 7, 'yz')],
      commit: 99,
      reject: false,
      rejectHint: 0,
    };
    const d = decodeMessage(encodeMessage(m));
    expect(d).toEqual(m);
    // A commit-only notice keeps its flag (field 13); a member that does not know
    // the field skips it and answers, as before.
    const notice = { ...m, entries: [], commitOnly: true };
    const bytes = encodeMessage(notice);
    expect(decodeMessage(bytes)).toStrictEqual(notice);
    expect(bytes.length).toBe(encodeMessage({ ...notice, commitOnly: false }).length + 2);
    expect(decodeMessage(encodeMessage({ ...notice, commitOnly: false })).commitOnly).toBeUndefined();
  });
});
