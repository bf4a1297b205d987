// The Raft log as the core sees it: the stable part in Storage, the unstable
// tail in memory, and the committed/applied marks.

import { ErrCompacted, ErrUnavailable } from './errors.js';
import type { Storage } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { Unstable } from './unstable.js';
import { limitSize } from './util.js';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  committed: number;
  applied: number;
  /** Bound on committed entries handed out per Ready. */
  maxNextEntsSize: number;

  constructor(storage: Storage, maxNextEntsSize: number) {
    this.storage = storage;
    this.maxNextEntsSize = maxNextEntsSize;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // Everything up to the snapshot is committed and applied by definition (the
    // log may have been compacted less far than the snapshot reaches).
    const base = Math.max(first - 1, Math.min(storage.snapshot().metadata.index, last));
    this.committed = base;
    this.applied = base;
  }

  /**
   * Append from a leader's MsgApp if our log matches at (index, logTerm).
   * Returns the index of the last new entry, or -1 on mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) throw new Error(`entry ${ci} conflict with committed entry [committed(${this.committed})]`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    if (after < this.committed) throw new Error(`after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** First index whose term differs from ours (or that we lack); 0 if all match. */
  findConflict(ents: Entry[]): number {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i];
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ index whose term is ≤ term: where a leader and follower
   * could possibly agree, used to skip a whole term per rejection.
   */
  findConflictByTerm(index: number, term: number): number {
    const li = this.lastIndex();
    if (index > li) return index;
    for (;;) {
      const t = this.termOrUndefined(index);
      if (t === undefined || t <= term) return index;
      index--;
    }
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  /** Committed entries not yet applied, bounded by maxNextEntsSize. */
  nextEnts(): Entry[] {
    const off = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 > off) return this.slice(off, this.committed + 1, this.maxNextEntsSize);
    return [];
  }

  hasNextEnts(): boolean {
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined && this.unstable.snapshot.metadata.index !== 0;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Last index known to be on disk (the leader counts only this for itself). */
  stableIndex(): number {
    return Math.min(this.unstable.offset - 1, this.lastIndex());
  }

  commitTo(c: number): void {
    if (this.committed < c) {
      if (this.lastIndex() < c) throw new Error(`tocommit(${c}) is out of range [lastIndex(${this.lastIndex()})]`);
      this.committed = c;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (this.committed < i || i < this.applied) {
      throw new Error(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): number {
    return this.termOr0(this.lastIndex());
  }

  /** Term at i; throws ErrCompacted / ErrUnavailable when it is out of reach. */
  term(i: number): number {
    const t = this.termOrUndefined(i);
    if (t !== undefined) return t;
    if (i < this.firstIndex() - 1) throw new ErrCompacted();
    throw new ErrUnavailable();
  }

  termOrUndefined(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const ut = this.unstable.maybeTerm(i);
    if (ut !== undefined) return ut;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof ErrCompacted || e instanceof ErrUnavailable) return undefined;
      throw e;
    }
  }

  termOr0(i: number): number {
    return this.termOrUndefined(i) ?? 0;
  }

  matchTerm(i: number, t: number): boolean {
    const got = this.termOrUndefined(i);
    return got !== undefined && got === t;
  }

  /** Raft's election restriction (§5.4.1): is (lasti, term) at least as up to date as us? */
  isUpToDate(lasti: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  /** Entries from i on, at most maxSize bytes. Throws ErrCompacted if i is gone. */
  entries(i: number, maxSize?: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  /** Commit up to maxIndex if that entry is from `term`: the Figure 8 rule. */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOr0(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  slice(lo: number, hi: number, maxSize?: number): Entry[] {
    if (lo > hi) throw new Error(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new ErrCompacted();
    if (hi > this.lastIndex() + 1) throw new Error(`slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
    if (lo === hi) return [];
    const uoff = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < uoff) {
      ents = this.storage.entries(lo, Math.min(hi, uoff), maxSize);
      // Storage already trimmed by size: the unstable part cannot be added.
      if (ents.length < Math.min(hi, uoff) - lo) return ents;
    }
    if (hi > uoff) {
      const u = this.unstable.slice(Math.max(lo, uoff), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSize);
  }
}
