// Which committed entries of a Ready may be applied while its own entries are
// written: those on disk before the write, never the ones it rewrites.
import { describe, expect, it } from 'vitest';
import { type Entry, EntryType } from '../../src/raft/types.js';
import { committedAfter, committedOnDisk } from '../../src/server/ready-commits.js';

const ent = (index: number, term = 1): Entry => ({ term, index, type: EntryType.Normal, data: new Uint8Array(0), encoded: undefined });
const idx = (es: Entry[]) => es.map((e) => e.index);

describe('committedOnDisk / committedAfter', () => {
  it('gives all of them, as the same array, when all are on disk; none, and the same array after, when none is', () => {
    const rd = { committedEntries: [ent(4), ent(5)], entries: [ent(6)] };
    const early = committedOnDisk(rd, 5);
    expect(early).toBe(rd.committedEntries);
    expect(committedAfter(rd, early)).toEqual([]);
    const none = committedOnDisk(rd, 3);
    expect(none).toEqual([]);
    expect(committedAfter(rd, none)).toBe(rd.committedEntries);
  });

  it('splits at what is on disk: the rest waits for this write', () => {
    const rd = { committedEntries: [ent(4), ent(5), ent(6)], entries: [ent(6), ent(7)] };
    const early = committedOnDisk(rd, 5);
    expect(idx(early)).toEqual([4, 5]);
    expect(idx(committedAfter(rd, early))).toEqual([6]);
  });

  it("does not count an index this Ready rewrites as on disk (a new leader's entries replacing uncommitted ones)", () => {
    // The WAL holds 1..6 from the old term; the new leader's 5 and 6 replace them and come committed at once.
    const rd = { committedEntries: [ent(4), ent(5, 2), ent(6, 2)], entries: [ent(5, 2), ent(6, 2)] };
    const early = committedOnDisk(rd, 6);
    expect(idx(early)).toEqual([4]);
    expect(idx(committedAfter(rd, early))).toEqual([5, 6]);
  });

  it('with nothing to write, everything up to the persisted index is on disk', () => {
    const rd = { committedEntries: [ent(8), ent(9)], entries: [] };
    expect(idx(committedOnDisk(rd, 9))).toEqual([8, 9]);
    expect(idx(committedOnDisk(rd, 8))).toEqual([8]);
    expect(committedOnDisk({ committedEntries: [], entries: [] }, 9)).toEqual([]);
  });
});
