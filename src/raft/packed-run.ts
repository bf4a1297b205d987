// A run of old log entries, packed. The in-memory log keeps every entry since
// the last log compaction (up to --snapshot-count of them, 100,000 by default)
// for followers that fall behind. As objects, each costs ~250 B of JS heap (the
// Entry, a view of its data, a view of its encoding) that every full GC marks,
// and often pins the larger buffer it arrived in. A run holds the same entries
// as their encodings back to back in one buffer, with their end offsets and
// terms in typed arrays: four objects per run instead of three per entry. Entries
// are decoded again when asked for, which only a lagging follower's appends and
// an apply that fell far behind need. MemoryStorage packs only the runs the WAL
// cannot give back (entries replayed at start); the rest become cold runs
// (cold-run.ts), which keep only their terms.

import { decodeEntry, encodeEntry } from './codec.js';
import { LogRun } from './log-run.js';
import type { Entry } from './types.js';

export class PackedRun extends LogRun {
  private constructor(
    first: number,
    count: number,
    terms: Float64Array,
    /** ends[k]: where entry first+k's encoding ends in `bytes`; it starts at ends[k-1] (or 0). */
    private readonly ends: Uint32Array,
    private readonly bytes: Uint8Array,
  ) {
    super(first, count, terms, 'packed');
  }

  /** Packs consecutive entries (entries[k].index === entries[0].index + k); copies their encodings. */
  static pack(entries: readonly Entry[]): PackedRun {
    const terms = LogRun.termsOf(entries, 'PackedRun.pack');
    const n = entries.length;
    const encodings = new Array<Uint8Array>(n);
    let size = 0;
    for (let k = 0; k < n; k++) {
      encodings[k] = encodeEntry(entries[k]!);
      size += encodings[k]!.length;
    }
    const bytes = new Uint8Array(size);
    const ends = new Uint32Array(n);
    let at = 0;
    for (let k = 0; k < n; k++) {
      bytes.set(encodings[k]!, at);
      at += encodings[k]!.length;
      ends[k] = at;
    }
    return new PackedRun(entries[0]!.index, n, terms, ends, bytes);
  }

  /** Entry i, decoded afresh: a new object whose data and encoding are views into the run's buffer. */
  entry(i: number): Entry {
    const k = this.offsetOf(i);
    return decodeEntry(this.bytes.subarray(k === 0 ? 0 : this.ends[k - 1]!, this.ends[k]!));
  }

  /** The run up to and including index `last` (first <= last < this.last), sharing this run's memory. */
  truncatedTo(last: number): PackedRun {
    const count = this.offsetOf(last) + 1;
    return new PackedRun(this.first, count, this.terms, this.ends, this.bytes);
  }

  /** Bytes held: the encodings and the two arrays (whole buffers, also when truncated). */
  get byteSize(): number {
    return this.bytes.byteLength + this.ends.byteLength + this.terms.byteLength;
  }
}
