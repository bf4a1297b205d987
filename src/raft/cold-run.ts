// A run of old log entries kept on disk only. The write-ahead log already holds
// every entry durably; once an entry is old enough to be packed (packed-run.ts),
// MemoryStorage can keep just its term and read the entry back from the log when
// a lagging follower or a far-behind apply asks for it. The in-memory log then
// costs ~8 B per old entry here (and the log's own ~20 B to find it) instead of
// its whole encoding: at --snapshot-count's 100,000 entries of ~300 B, ~29 MiB
// less at a member's peak (docs/PERFORMANCE.md, twentieth round).

import { LogRun } from './log-run.js';
import type { Entry } from './types.js';

/**
 * Entries that can be read back from durable storage (the WAL: wal/entry-reader.ts).
 * The core only reads; what the log says it has, it must be able to return, or
 * throw (a read error or a bad checksum: the member stops).
 */
export interface ColdEntries {
  /** Whether every entry in [first, last] can be read back. */
  has(first: number, last: number): boolean;
  /** Entries [lo, hi), in order; each exactly as it was written. */
  read(lo: number, hi: number): Entry[];
  /** Entries at or below `index` will not be asked for again. */
  release(index: number): void;
}

export class ColdRun extends LogRun {
  private constructor(
    first: number,
    count: number,
    terms: Float64Array,
    private readonly cold: ColdEntries,
  ) {
    super(first, count, terms, 'cold');
  }

  /** A run of consecutive entries (entries[k].index === entries[0].index + k) that `cold` holds. */
  static of(entries: readonly Entry[], cold: ColdEntries): ColdRun {
    const terms = LogRun.termsOf(entries, 'ColdRun.of');
    return new ColdRun(entries[0]!.index, entries.length, terms, cold);
  }

  /**
   * Entries [lo, hi) of the run, read back. Each must be the entry the log had:
   * same index, same term (the log's record of it was overwritten or is not
   * what was written otherwise, and serving it would serve another history).
   */
  entries(lo: number, hi: number): Entry[] {
    this.offsetOf(lo);
    this.offsetOf(hi - 1);
    const out = this.cold.read(lo, hi);
    if (out.length !== hi - lo) throw new Error(`log entries ${lo}..${hi - 1} read back as ${out.length} entries`);
    for (let k = 0; k < out.length; k++) {
      const e = out[k]!;
      if (e.index !== lo + k || e.term !== this.terms[lo + k - this.first]) {
        throw new Error(`log entry ${lo + k} (term ${this.terms[lo + k - this.first]}) read back as index ${e.index} term ${e.term}`);
      }
    }
    return out;
  }

  /** The run up to and including index `last`. */
  truncatedTo(last: number): ColdRun {
    return new ColdRun(this.first, this.offsetOf(last) + 1, this.terms, this.cold);
  }

  /** Bytes held in memory (the terms). */
  get byteSize(): number {
    return this.terms.byteLength;
  }
}
