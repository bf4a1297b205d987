// The read side of persistent storage as the core sees it, and an in-memory
// implementation. The driver writes to storage (entries, hard state, snapshots);
// the core only reads, to serve appends to followers and to restart.

import { ColdRun, type ColdEntries } from './cold-run.js';
import { emptyConfState } from './codec.js';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from './errors.js';
import { PackedRun } from './packed-run.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { emptySnapshot, entrySize, limitSize } from './util.js';

export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries [lo, hi), trimmed to maxSize bytes (at least one entry is returned). */
  entries(lo: number, hi: number, maxSize?: number): Entry[];
  /** Term of entry i; i may be firstIndex()-1 (the snapshot's index). */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/** How many of the newest entries MemoryStorage keeps as objects by default (older ones are packed). */
export const DEFAULT_HOT_ENTRIES = 1024;

export interface MemoryStorageOptions {
  /**
   * Entries kept as objects at the end of the log; once twice as many are there,
   * the older half is packed (packed-run.ts). Appends, commits and applies touch
   * the newest entries, so they never see a packed one unless they fall that far
   * behind. Small values exercise the packed path in tests.
   */
  hotEntries?: number;
  /**
   * Where entries can be read back from (the WAL). An old run it holds keeps only
   * its terms in memory (cold-run.ts); one it does not (entries replayed at
   * start, or no such store) is packed in memory.
   */
  cold?: ColdEntries;
}

type Run = PackedRun | ColdRun;

export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0n, commit: 0 };
  private snap: Snapshot = emptySnapshot();
  /** Index and term of the last entry compacted away (the snapshot's, or compact()'s): firstIndex() - 1. */
  private offset = 0;
  private offsetTerm = 0;
  /**
   * Older entries in runs (packed in memory, or cold: read back from the WAL), in
   * order: together they hold offset+1 .. hotStart-1
   * (the first run may begin at or before offset+1: compaction drops whole runs).
   */
  private runs: Run[] = [];
  /** The newest entries as objects: hot[k] is entry hotStart + k. */
  private hot: Entry[] = [];
  private hotStart = 1;
  private readonly hotEntries: number;
  private readonly cold: ColdEntries | undefined;

  constructor(opts: MemoryStorageOptions = {}) {
    this.hotEntries = Math.max(1, opts.hotEntries ?? DEFAULT_HOT_ENTRIES);
    this.cold = opts.cold;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    const cs = this.snap.metadata.confState;
    return { hardState: { ...this.hardState }, confState: cs ?? emptyConfState() };
  }

  setHardState(h: HardState): void {
    this.hardState = { ...h };
  }

  entries(lo: number, hi: number, maxSize?: number): Entry[] {
    if (lo <= this.offset) throw new ErrCompacted();
    if (hi > this.lastIndex() + 1) throw new ErrUnavailable(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    if (this.lastIndex() === this.offset) throw new ErrUnavailable();
    if (lo >= this.hotStart) return limitSize(this.hot.slice(lo - this.hotStart, hi - this.hotStart), maxSize);
    // Packed entries are decoded one by one, cold ones read back a run's worth at
    // a time; only as many are returned as maxSize lets through (limitSize's rule:
    // the first always, then while the total stays within it).
    const out: Entry[] = [];
    let size = 0;
    const take = (e: Entry): boolean => {
      size += entrySize(e);
      if (maxSize !== undefined && out.length > 0 && size > maxSize) return false;
      out.push(e);
      return true;
    };
    for (let i = lo; i < hi; ) {
      if (i >= this.hotStart) {
        if (!take(this.hot[i - this.hotStart]!)) break;
        i++;
        continue;
      }
      const run = this.runOf(i);
      if (run instanceof ColdRun) {
        const end = Math.min(hi, run.last + 1);
        for (const e of run.entries(i, end)) if (!take(e)) return out;
        i = end;
      } else {
        if (!take(run.entry(i))) break;
        i++;
      }
    }
    return out;
  }

  term(i: number): number {
    if (i < this.offset) throw new ErrCompacted();
    if (i > this.lastIndex()) throw new ErrUnavailable();
    if (i === this.offset) return this.offsetTerm;
    if (i >= this.hotStart) return this.hot[i - this.hotStart]!.term;
    return this.runOf(i).term(i);
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.hotStart + this.hot.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /**
   * Entries held packed or cold (`packed`, of which `cold` on disk only) and as
   * objects, and the bytes the runs hold in memory (for tests and metrics).
   */
  layout(): { packed: number; cold: number; hot: number; packedBytes: number } {
    let packedBytes = 0;
    let cold = 0;
    for (const r of this.runs) {
      packedBytes += r.byteSize;
      if (r instanceof ColdRun) cold += Math.min(r.last, this.hotStart - 1) - Math.max(r.first, this.offset + 1) + 1;
    }
    return { packed: this.hotStart - 1 - this.offset, cold, hot: this.hot.length, packedBytes };
  }

  /** Replace the whole state by a snapshot (a follower installing one from its leader). */
  applySnapshot(s: Snapshot): void {
    if (this.snap.metadata.index >= s.metadata.index) throw new ErrSnapOutOfDate();
    this.snap = s;
    this.offset = s.metadata.index;
    this.offsetTerm = s.metadata.term;
    this.runs = [];
    this.hot = [];
    this.hotStart = this.offset + 1;
    this.cold?.release(this.offset);
  }

  /** Record a snapshot of the application state at applied index i (does not compact). */
  createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new ErrSnapOutOfDate();
    if (i > this.lastIndex()) throw new Error(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = {
      metadata: { index: i, term: this.term(i), confState: cs ?? this.snap.metadata.confState },
      data,
    };
    return this.snap;
  }

  /** Discard entries before i; entry i's index and term stay as the offset. */
  compact(i: number): void {
    if (i <= this.offset) throw new ErrCompacted();
    if (i > this.lastIndex()) throw new Error(`compact ${i} is out of bound lastindex(${this.lastIndex()})`);
    const term = this.term(i);
    if (i >= this.hotStart) {
      this.hot = this.hot.slice(i + 1 - this.hotStart);
      this.hotStart = i + 1;
      this.runs = [];
    } else {
      let gone = 0;
      while (gone < this.runs.length && this.runs[gone]!.last <= i) gone++;
      if (gone > 0) this.runs = this.runs.slice(gone);
    }
    this.offset = i;
    this.offsetTerm = term;
    this.cold?.release(i);
  }

  /** Append entries, overwriting any conflicting suffix already stored. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    // Entries already covered by the snapshot are dropped.
    if (first > entries[0]!.index) entries = entries.slice(first - entries[0]!.index);
    const at = entries[0]!.index;
    if (at > this.lastIndex() + 1) {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${at}]`);
    }
    this.truncateFrom(at);
    for (let i = 0; i < entries.length; i++) this.hot.push(entries[i]!);
    if (this.hot.length >= 2 * this.hotEntries) this.packOldest(this.hot.length - this.hotEntries);
  }

  /** Drops entries at and after index `at` (offset < at <= lastIndex()+1). */
  private truncateFrom(at: number): void {
    if (at >= this.hotStart) {
      if (at - this.hotStart < this.hot.length) this.hot.length = at - this.hotStart;
      return;
    }
    // A conflict reaching back into the packed entries (rare: that many
    // uncommitted entries replaced by a new leader's).
    this.hot = [];
    this.hotStart = at;
    const kept: Run[] = [];
    for (const r of this.runs) {
      if (r.last < at) kept.push(r);
      else if (r.first < at) kept.push(r.truncatedTo(at - 1));
    }
    this.runs = kept;
  }

  /**
   * Packs the n oldest hot entries, in runs of at most hotEntries (compaction frees
   * whole runs): cold (terms only) when the durable log can give them back.
   */
  private packOldest(n: number): void {
    for (let k = 0; k < n; k += this.hotEntries) {
      const entries = this.hot.slice(k, Math.min(n, k + this.hotEntries));
      const cold = this.cold !== undefined && this.cold.has(entries[0]!.index, entries[entries.length - 1]!.index);
      this.runs.push(cold ? ColdRun.of(entries, this.cold!) : PackedRun.pack(entries));
    }
    this.hot = this.hot.slice(n);
    this.hotStart += n;
  }

  /** The run holding index i (offset < i < hotStart). */
  private runOf(i: number): Run {
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.runs[mid]!;
      if (i < r.first) hi = mid - 1;
      else if (i > r.last) lo = mid + 1;
      else return r;
    }
    throw new Error(`entry ${i} is in no packed run`);
  }
}
