import { describe, expect, it } from 'vitest';
import { ErrProposalDropped } from '../../src/raft/errors.js';
import { HeldProposals, MAX_HELD_BYTES, MAX_HELD_PROPOSALS } from '../../src/raft/held-proposals.js';
import { EntryType, MessageType, type Message } from '../../src/raft/types.js';

function prop(bytes: number, tag = 0): Message {
  return {
    type: MessageType.MsgProp, to: 1n, from: 2n, term: 0, logTerm: 0, index: tag, commit: 0, reject: false, rejectHint: 0,
    entries: [{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(bytes), encoded: undefined }],
  };
}

describe('HeldProposals', () => {
  it('gives back what it holds once, oldest first', () => {
    const h = new HeldProposals();
    h.hold(prop(1, 1));
    h.hold(prop(1, 2));
    expect(h.size).toBe(2);
    expect(h.takeAll().map((m) => m.index)).toEqual([1, 2]);
    expect(h.size).toBe(0);
    expect(h.takeAll()).toEqual([]);
  });

  it('refuses a proposal past its count bound', () => {
    const h = new HeldProposals();
    for (let i = 0; i < MAX_HELD_PROPOSALS; i++) h.hold(prop(0));
    expect(() => h.hold(prop(0))).toThrow(ErrProposalDropped);
    expect(h.size).toBe(MAX_HELD_PROPOSALS);
  });

  it('refuses a proposal past its byte bound, and takes one again once emptied', () => {
    const h = new HeldProposals();
    h.hold(prop(MAX_HELD_BYTES - 10));
    expect(() => h.hold(prop(11))).toThrow('too many proposals held for a leader');
    h.hold(prop(10));
    h.takeAll();
    h.hold(prop(MAX_HELD_BYTES));
    expect(h.size).toBe(1);
  });

  it('drops everything once the oldest waited the given ticks; the count restarts with the next', () => {
    const h = new HeldProposals();
    expect(h.tick(3)).toBe(0); // empty: nothing counts
    h.hold(prop(1));
    expect(h.tick(3)).toBe(0);
    h.hold(prop(1)); // a later one does not restart the count
    expect(h.tick(3)).toBe(0);
    expect(h.tick(3)).toBe(2);
    expect(h.size).toBe(0);
    h.hold(prop(1));
    expect(h.tick(3)).toBe(0);
    expect(h.tick(3)).toBe(0);
    expect(h.tick(3)).toBe(1);
  });
});
