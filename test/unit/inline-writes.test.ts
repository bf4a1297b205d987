// When a Ready's WAL write may block the Raft thread (src/server/inline-writes.ts).

import { describe, expect, it } from 'vitest';
import { InlineWritePolicy, LEADER_ALONE_STREAK } from '../../src/server/inline-writes.js';
import { type Entry, EntryType } from '../../src/raft/types.js';

const entry = (index: number): Entry => ({ term: 2, index, type: EntryType.Normal, data: new Uint8Array(8), encoded: undefined });

/** A leader appending index `i` alone (commit at i - 1) `n` times in a row, from `from`. */
function loneAppends(p: InlineWritePolicy, from: number, n: number): boolean[] {
  const out: boolean[] = [];
  for (let i = from; i < from + n; i++) out.push(p.decide(true, [entry(i)], i - 1));
  return out;
}

describe('InlineWritePolicy', () => {
  it('a follower always writes inline', () => {
    const p = new InlineWritePolicy();
    expect(p.decide(false, [entry(5), entry(6)], 3)).toBe(true);
    expect(p.decide(false, [], 6)).toBe(true);
  });

  it('a leader writes inline once its appends carried the only entry in flight LEADER_ALONE_STREAK times in a row', () => {
    const p = new InlineWritePolicy();
    const first = loneAppends(p, 10, LEADER_ALONE_STREAK + 2);
    expect(first).toEqual([...Array<boolean>(LEADER_ALONE_STREAK - 1).fill(false), true, true, true]);
  });

  it('a Ready without entries neither writes inline nor breaks the streak', () => {
    const p = new InlineWritePolicy();
    for (let i = 10; i < 10 + LEADER_ALONE_STREAK - 1; i++) {
      expect(p.decide(true, [entry(i)], i - 1)).toBe(false);
      expect(p.decide(true, [], i)).toBe(false); // the commit notice between two puts
    }
    expect(p.decide(true, [entry(10 + LEADER_ALONE_STREAK - 1)], 10 + LEADER_ALONE_STREAK - 2)).toBe(true);
  });

  it('more than one entry, or an entry with others uncommitted before it, starts the streak again', () => {
    const p = new InlineWritePolicy();
    loneAppends(p, 10, LEADER_ALONE_STREAK);
    expect(p.decide(true, [entry(14), entry(15)], 13)).toBe(false);
    expect(loneAppends(p, 16, LEADER_ALONE_STREAK).at(-1)).toBe(true);
    // Index 21 appended while 20 is not yet committed: two in flight.
    expect(p.decide(true, [entry(21)], 19)).toBe(false);
    expect(loneAppends(p, 22, LEADER_ALONE_STREAK - 1)).toEqual(Array<boolean>(LEADER_ALONE_STREAK - 1).fill(false));
  });

  it("an entry a follower forwarded goes through the pool and starts the streak again", () => {
    const p = new InlineWritePolicy();
    expect(loneAppends(p, 10, LEADER_ALONE_STREAK).at(-1)).toBe(true);
    p.forwarded(14);
    expect(p.decide(true, [entry(14)], 13)).toBe(false);
    // The leader's own clients again: inline once the streak is back.
    expect(loneAppends(p, 15, LEADER_ALONE_STREAK)).toEqual([...Array<boolean>(LEADER_ALONE_STREAK - 1).fill(false), true]);
  });

  it('a linearizable read starts the streak again', () => {
    const p = new InlineWritePolicy();
    expect(loneAppends(p, 10, LEADER_ALONE_STREAK).at(-1)).toBe(true);
    p.otherWork();
    expect(loneAppends(p, 14, LEADER_ALONE_STREAK)).toEqual([...Array<boolean>(LEADER_ALONE_STREAK - 1).fill(false), true]);
  });

  it('following in between starts the streak again', () => {
    const p = new InlineWritePolicy();
    loneAppends(p, 10, LEADER_ALONE_STREAK);
    expect(p.decide(false, [entry(14)], 13)).toBe(true);
    expect(p.decide(true, [entry(15)], 14)).toBe(false);
  });
});
