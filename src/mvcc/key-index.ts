// Per-key revision history, as etcd's keyIndex: a list of generations, each the
// life of the key from creation to deletion (tombstone). The last generation is
// the current one; it is empty right after a delete.
//
//   put(1.0) put(2.0) tombstone(3.0) put(4.0) tombstone(5.0)
//   → generations [ {1.0, 2.0, 3.0t}, {4.0, 5.0t}, {} ]
//
// Two shapes, because at a million keys the index is most of the heap:
// - compact (gens === null): the key has at most one revision, live. That is
//   every key written once, and every live key after a compaction. It costs this
//   object alone (six fields), no arrays: ~72 B plus the key string.
// - full: the generations, each with its revisions interleaved (main, sub, …)
//   in one number array. A key moves to it when it gets a second revision or a
//   tombstone, and back to compact when compaction or an undo leaves one live
//   revision.

class Generation {
  /** The version of the generation's newest revision (versions count from 1 at creation). */
  ver = 0;
  createdMain = 0;
  /** interleaved [main0, sub0, main1, sub1, ...], ascending */
  revs: number[] = [];

  /** A generation of one revision. */
  static single(createdMain: number, ver: number, main: number, sub: number): Generation {
    const g = new Generation();
    g.createdMain = createdMain;
    g.ver = ver;
    // Exact-size literal: push() onto [] reserves ~16 slots.
    g.revs = [main, sub];
    return g;
  }

  get count(): number { return this.revs.length >> 1; }
  isEmpty(): boolean { return this.revs.length === 0; }
  lastMain(): number { return this.revs[this.revs.length - 2]!; }
}

/** What a key looked like at some revision, without its value. */
export interface KeyRevInfo {
  modMain: number;
  modSub: number;
  createMain: number;
  version: number;
}

export type RevSink = (main: number, sub: number) => void;

export class KeyIndex {
  /** The newest revision (unchanged by compaction; 0.0 before the first put). */
  modMain = 0;
  modSub = 0;
  // Compact shape: the single live revision's creation revision and version; ver 0 = no revision at all.
  private createdMain = 0;
  private ver = 0;
  /** Full shape; null while compact. */
  private gens: Generation[] | null = null;

  /** The key as a latin1 string: one char per byte, so JS string order = byte order. */
  constructor(readonly skey: string) {}

  put(main: number, sub: number): void {
    if (main < this.modMain || (main === this.modMain && sub <= this.modSub)) {
      // Revisions only grow; anything else means the apply order is broken.
      throw new Error(`mvcc: put with unexpected smaller revision ${main}.${sub} <= ${this.modMain}.${this.modSub}`);
    }
    if (this.gens === null && this.ver === 0) {
      this.createdMain = main;
      this.ver = 1;
    } else {
      appendRev(this.full(), main, sub);
    }
    this.modMain = main;
    this.modSub = sub;
  }

  /**
   * Seeds the index from the first surviving revision found at start-up: after a
   * compaction the earlier revisions of the generation are gone, so creation
   * revision and version come from the stored KeyValue.
   */
  restore(createdMain: number, modMain: number, modSub: number, ver: number): void {
    this.gens = null;
    this.createdMain = createdMain;
    this.ver = ver;
    this.modMain = modMain;
    this.modSub = modSub;
  }

  /**
   * Seeds the index from a tombstone found at start-up with no earlier record
   * of its key: the delete kept by a compaction at its revision (see compact()).
   * A later compaction drops it.
   */
  restoreTombstone(main: number, sub: number): void {
    this.gens = [Generation.single(main, 1, main, sub), new Generation()];
    this.createdMain = 0;
    this.ver = 0;
    this.modMain = main;
    this.modSub = sub;
  }

  /** Returns false when the key is not live (nothing to delete). */
  tombstone(main: number, sub: number): boolean {
    if (!this.isLive()) return false;
    this.put(main, sub);
    this.gens!.push(new Generation());
    return true;
  }

  /**
   * Reverts the newest change, which must be (main, sub): a put, or with
   * `tombstone` a delete (its revision plus the empty generation it opened).
   * Used to roll back a write that failed half-way.
   */
  undo(main: number, sub: number, tombstone: boolean): void {
    const gens = this.full();
    if (tombstone) gens.pop();
    const g = gens[gens.length - 1];
    const n = g ? g.revs.length : 0;
    if (!g || g.revs[n - 2] !== main || g.revs[n - 1] !== sub) {
      throw new Error(`mvcc: cannot undo ${main}.${sub}: not the newest revision of the key`);
    }
    g.revs.length = n - 2;
    g.ver--;
    if (g.revs.length === 0) { g.createdMain = 0; g.ver = 0; }
    // In-index keys always keep their newest revision (compaction keeps it), so
    // the previous modification is the newest revision left.
    this.modMain = 0;
    this.modSub = 0;
    for (let i = gens.length - 1; i >= 0; i--) {
      const r = gens[i]!.revs;
      if (r.length > 0) { this.modMain = r[r.length - 2]!; this.modSub = r[r.length - 1]!; break; }
    }
    this.settle();
  }

  isEmpty(): boolean {
    const gens = this.gens;
    if (gens === null) return this.ver === 0;
    return gens.length === 0 || (gens.length === 1 && gens[0]!.isEmpty());
  }

  /** Is the key live now (not deleted)? */
  isLive(): boolean {
    const gens = this.gens;
    if (gens === null) return this.ver !== 0;
    return gens.length > 0 && !gens[gens.length - 1]!.isEmpty();
  }

  /** The generations as lists of "main.sub" (tests and debugging; allocates). */
  describe(): string[][] {
    if (this.gens === null) return this.ver === 0 ? [] : [[`${this.modMain}.${this.modSub}`]];
    return this.gens.map((g) => {
      const out: string[] = [];
      for (let i = 0; i < g.revs.length; i += 2) out.push(`${g.revs[i]}.${g.revs[i + 1]}`);
      return out;
    });
  }

  private findGeneration(rev: number): Generation | undefined {
    const gens = this.gens!;
    const last = gens.length - 1;
    for (let i = last; i >= 0; i--) {
      const g = gens[i]!;
      if (g.revs.length === 0) continue;
      // A closed generation whose tombstone is at or below rev means the key was
      // deleted at rev: nothing older can be visible.
      if (i !== last && g.lastMain() <= rev) return undefined;
      if (g.revs[0]! <= rev) return g;
    }
    return undefined;
  }

  /** The newest revision of this key at or below `atRev`, if the key existed then. */
  get(atRev: number): KeyRevInfo | undefined {
    if (this.gens === null) {
      if (this.ver === 0 || this.modMain > atRev) return undefined;
      return { modMain: this.modMain, modSub: this.modSub, createMain: this.createdMain, version: this.ver };
    }
    const g = this.findGeneration(atRev);
    if (!g) return undefined;
    const revs = g.revs;
    const n = revs.length >> 1;
    for (let i = n - 1; i >= 0; i--) {
      if (revs[2 * i]! <= atRev) {
        return { modMain: revs[2 * i]!, modSub: revs[2 * i + 1]!, createMain: g.createdMain, version: g.ver - (n - i - 1) };
      }
    }
    return undefined;
  }

  /** Same as get() but only says whether the key existed at atRev (no allocation). */
  existsAt(atRev: number): boolean {
    if (this.gens === null) return this.ver !== 0 && this.modMain <= atRev;
    const g = this.findGeneration(atRev);
    return g !== undefined && g.revs[0]! <= atRev;
  }

  // Locates what compaction at atRev keeps: generations whose tombstone is at or
  // below atRev are dropped whole; in the first surviving one, the newest
  // revision ≤ atRev is kept (reported to `sink`) with everything after it.
  private doCompact(atRev: number, sink: RevSink): { genIdx: number; revIdx: number } {
    const gens = this.gens!;
    let genIdx = 0;
    while (genIdx < gens.length - 1) {
      if (gens[genIdx]!.lastMain() > atRev) break;
      genIdx++;
    }
    const revs = gens[genIdx]!.revs;
    for (let i = (revs.length >> 1) - 1; i >= 0; i--) {
      if (revs[2 * i]! <= atRev) {
        sink(revs[2 * i]!, revs[2 * i + 1]!);
        return { genIdx, revIdx: i };
      }
    }
    return { genIdx, revIdx: -1 };
  }

  /**
   * Drops history older than atRev; kept revisions ≤ atRev are reported to `sink`.
   *
   * A delete exactly at atRev keeps its tombstone, until a later compaction: a
   * watch may start at atRev (it is not compacted) and must see that delete.
   * etcd 3.4.23 dropped it (etcd-io/etcd#18089, fixed in later 3.4 and 3.5
   * releases); our simulation caught a member skipping such a delete for a
   * watch caught up across a snapshot install.
   */
  compact(atRev: number, sink: RevSink): void {
    if (this.gens === null) {
      // One revision: compaction keeps it (the newest), and reports it once it is ≤ atRev.
      if (this.ver !== 0 && this.modMain <= atRev) sink(this.modMain, this.modSub);
      return;
    }
    if (this.gens.length === 0) return;
    const deletedAt = this.tombstoneAt(atRev);
    let kept: [number, number] | undefined;
    let { genIdx, revIdx } = this.doCompact(atRev, (m, s) => { kept = [m, s]; });
    const g = this.gens[genIdx]!;
    if (!g.isEmpty()) {
      if (revIdx !== -1) g.revs = g.revs.slice(revIdx * 2);
      // A closed generation reduced to its tombstone carries no data: drop it.
      if (g.count === 1 && genIdx !== this.gens.length - 1) {
        if (kept && kept[0] === g.revs[0] && kept[1] === g.revs[1]) kept = undefined;
        genIdx++;
      }
    }
    if (kept) sink(kept[0], kept[1]);
    if (genIdx > 0) this.gens = this.gens.slice(genIdx);
    if (deletedAt !== undefined) {
      // Its generation lay below genIdx (its tombstone is ≤ atRev): back in front, as its tombstone alone.
      sink(deletedAt.revs[0]!, deletedAt.revs[1]!);
      this.gens.unshift(deletedAt);
    }
    this.settle();
  }

  /** The generation closed by a tombstone at exactly atRev, reduced to that tombstone (a copy). */
  private tombstoneAt(atRev: number): Generation | undefined {
    const gens = this.gens!;
    for (let i = gens.length - 2; i >= 0; i--) {
      const g = gens[i]!;
      if (g.isEmpty()) continue;
      const last = g.lastMain();
      if (last < atRev) return undefined;
      if (last === atRev) return Generation.single(g.createdMain, g.ver, last, g.revs[g.revs.length - 1]!);
    }
    return undefined;
  }

  /** What compact(atRev) would keep at or below atRev, without changing anything. */
  keep(atRev: number, sink: RevSink): void {
    if (this.gens === null) {
      if (this.ver !== 0 && this.modMain <= atRev) sink(this.modMain, this.modSub);
      return;
    }
    if (this.isEmpty()) return;
    const { genIdx, revIdx } = this.doCompact(atRev, () => {});
    const g = this.gens[genIdx]!;
    if (g.isEmpty() || revIdx === -1) return;
    if (revIdx === g.count - 1 && genIdx !== this.gens.length - 1) return;
    sink(g.revs[2 * revIdx]!, g.revs[2 * revIdx + 1]!);
  }

  /** The full shape, converting from compact if needed. */
  private full(): Generation[] {
    if (this.gens !== null) return this.gens;
    const gens: Generation[] = [];
    if (this.ver !== 0) gens.push(Generation.single(this.createdMain, this.ver, this.modMain, this.modSub));
    this.gens = gens;
    return gens;
  }

  /** Back to the compact shape when the history is one live revision or nothing. */
  private settle(): void {
    const gens = this.gens!;
    if (gens.length === 0 || (gens.length === 1 && gens[0]!.isEmpty())) {
      this.gens = null;
      this.ver = 0;
      this.createdMain = 0;
    } else if (gens.length === 1 && gens[0]!.count === 1) {
      const g = gens[0]!;
      this.gens = null;
      this.createdMain = g.createdMain;
      this.ver = g.ver;
    }
  }
}

function appendRev(gens: Generation[], main: number, sub: number): void {
  if (gens.length === 0) gens.push(new Generation());
  const g = gens[gens.length - 1]!;
  if (g.revs.length === 0) { g.createdMain = main; g.revs = [main, sub]; }
  else g.revs.push(main, sub);
  g.ver++;
}
