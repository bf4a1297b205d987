// The read side of persistent storage as the core sees it, and an in-memory
// implementation. The driver writes to storage (entries, hard state, snapshots);
// the core only reads, to serve appends to followers and to restart.

import { emptyConfState } from './codec.js';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from './errors.js';
import { type ConfState, type Entry, type HardState, type Snapshot, EntryType } from './types.js';
import { EMPTY_BYTES, emptySnapshot, limitSize } from './util.js';

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

export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0n, commit: 0 };
  private snap: Snapshot = emptySnapshot();
  /** ents[0] is a placeholder standing for the snapshot's (index, term). */
  private ents: Entry[] = [{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES }];

  initialState(): { hardState: HardState; confState: ConfState } {
    const cs = this.snap.metadata.confState;
    return { hardState: { ...this.hardState }, confState: cs ?? emptyConfState() };
  }

  setHardState(h: HardState): void {
    this.hardState = { ...h };
  }

  private offset(): number {
    return this.ents[0].index;
  }

  entries(lo: number, hi: number, maxSize?: number): Entry[] {
    const off = this.offset();
    if (lo <= off) throw new ErrCompacted();
    if (hi > this.lastIndex() + 1) throw new ErrUnavailable(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    if (this.ents.length === 1) throw new ErrUnavailable();
    return limitSize(this.ents.slice(lo - off, hi - off), maxSize);
  }

  term(i: number): number {
    const off = this.offset();
    if (i < off) throw new ErrCompacted();
    if (i - off >= this.ents.length) throw new ErrUnavailable();
    return this.ents[i - off].term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replace the whole state by a snapshot (a follower installing one from its leader). */
  applySnapshot(s: Snapshot): void {
    if (this.snap.metadata.index >= s.metadata.index) throw new ErrSnapOutOfDate();
    this.snap = s;
    this.ents = [{ term: s.metadata.term, index: s.metadata.index, type: EntryType.Normal, data: EMPTY_BYTES }];
  }

  /** Record a snapshot of the application state at applied index i (does not compact). */
  createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new ErrSnapOutOfDate();
    const off = this.offset();
    if (i > this.lastIndex()) throw new Error(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = {
      metadata: { index: i, term: this.ents[i - off].term, confState: cs ?? this.snap.metadata.confState },
      data,
    };
    return this.snap;
  }

  /** Discard entries before i; entry i becomes the placeholder. */
  compact(i: number): void {
    const off = this.offset();
    if (i <= off) throw new ErrCompacted();
    if (i > this.lastIndex()) throw new Error(`compact ${i} is out of bound lastindex(${this.lastIndex()})`);
    const k = i - off;
    const head: Entry = { term: this.ents[k].term, index: i, type: EntryType.Normal, data: EMPTY_BYTES };
    this.ents = [head, ...this.ents.slice(k + 1)];
  }

  /** Append entries, overwriting any conflicting suffix already stored. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return;
    // Entries already covered by the snapshot are dropped.
    if (first > entries[0].index) entries = entries.slice(first - entries[0].index);
    const off = entries[0].index - this.offset();
    if (off > this.ents.length) {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${entries[0].index}]`);
    }
    if (off < this.ents.length) this.ents.length = off;
    for (let i = 0; i < entries.length; i++) this.ents.push(entries[i]);
  }
}
