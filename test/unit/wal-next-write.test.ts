// NextWrite: a request's records go into the WAL's next write whole or not at
// all, and the last index and hard state follow what was added.

import { describe, expect, it } from 'vitest';
import { EntryType, type Entry, type HardState } from '../../src/raft/types.js';
import { NextWrite } from '../../src/wal/next-write.js';
import { readFrame } from '../../src/wal/record.js';

const ent = (index: number): Entry => ({ index, term: 1, type: EntryType.Normal, data: new Uint8Array(10), encoded: undefined });
const hs = (term: number, commit: number): HardState => ({ term, vote: 1n, commit });

describe('NextWrite', () => {
  it('adds requests, follows the last index and hard state, and leaves everything as it was for one that cannot be encoded', () => {
    const w = new NextWrite(0, 5, hs(1, 5));
    expect(w.add(undefined, [ent(6)], undefined)).toBeUndefined();
    expect(w.lastIndex).toBe(6);
    const len = w.length;
    expect(len).toBeGreaterThan(0);
    // The same hard state again: no record.
    expect(w.add(hs(1, 5), [], undefined)).toBeUndefined();
    expect(w.length).toBe(len);
    // A bad entry after a good one: neither, nor the hard state with them.
    expect(w.add(hs(2, 7), [ent(7), { ...ent(8), index: -1 }], undefined)).toBeInstanceOf(Error);
    expect(w.length).toBe(len);
    expect(w.lastIndex).toBe(6);
    expect(w.hardState).toEqual(hs(1, 5));
    expect(w.add(hs(2, 7), [ent(7)], { index: 10, term: 2 })).toBeUndefined();
    expect(w.lastIndex).toBe(10);
    expect(w.hardState).toEqual(hs(2, 7));
  });

  it('writes a segment header with the hard state only when there is one', () => {
    const records = (w: NextWrite): number[] => {
      const out: number[] = [];
      const buf = Buffer.from(w.bytes());
      for (let off = 0; off < buf.length; ) {
        const f = readFrame(buf, off);
        if (f.kind !== 'record') break;
        out.push(f.type);
        off = f.end;
      }
      return out;
    };
    const empty = new NextWrite(7, 0, { term: 0, vote: 0n, commit: 0 });
    empty.segmentHeader(new Uint8Array([1]));
    const withState = new NextWrite(7, 0, hs(3, 2));
    withState.segmentHeader(new Uint8Array([1]));
    expect(records(withState).length).toBe(records(empty).length + 1);
  });
});
