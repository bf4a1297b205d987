// A set of watchers indexed for "who watches this key?" (etcd's watcherGroup).
// Single-key watchers sit in a map by key. Range watchers are grouped by their
// exact interval — a thousand watchers on one prefix are one entry — and the
// distinct intervals are kept sorted by start, so a lookup visits only the
// intervals starting at or before the key. The common shapes (many watchers on
// a few prefixes, or on single keys) cost O(log n) plus the matches.

import type { Watcher } from './watcher.js';

interface RangeEntry {
  start: string;
  /** null = unbounded (from-key). */
  end: string | null;
  watchers: Set<Watcher>;
}

const rangeId = (start: string, end: string | null): string =>
  // Length-prefixed so no (start, end) pair can collide with another.
  end === null ? `${start.length}:${start}|*` : `${start.length}:${start}|${end}`;

export class WatcherGroup {
  private readonly keys = new Map<string, Set<Watcher>>();
  private readonly rangesById = new Map<string, RangeEntry>();
  /** Distinct intervals, ascending by start. */
  private ranges: RangeEntry[] = [];
  private readonly members = new Set<Watcher>();

  get size(): number { return this.members.size; }

  has(w: Watcher): boolean { return this.members.has(w); }

  /** Every watcher, in insertion order. Safe to delete from while iterating. */
  values(): IterableIterator<Watcher> { return this.members.values(); }

  add(w: Watcher): void {
    if (this.members.has(w)) return;
    this.members.add(w);
    const { start, end } = w.range;
    if (end === undefined) {
      let set = this.keys.get(start);
      if (set === undefined) this.keys.set(start, (set = new Set()));
      set.add(w);
      return;
    }
    const id = rangeId(start, end);
    let entry = this.rangesById.get(id);
    if (entry === undefined) {
      entry = { start, end, watchers: new Set() };
      this.rangesById.set(id, entry);
      this.ranges.splice(this.upperBound(start), 0, entry);
    }
    entry.watchers.add(w);
  }

  delete(w: Watcher): boolean {
    if (!this.members.delete(w)) return false;
    const { start, end } = w.range;
    if (end === undefined) {
      const set = this.keys.get(start)!;
      set.delete(w);
      if (set.size === 0) this.keys.delete(start);
      return true;
    }
    const id = rangeId(start, end);
    const entry = this.rangesById.get(id)!;
    entry.watchers.delete(w);
    if (entry.watchers.size === 0) {
      this.rangesById.delete(id);
      this.ranges.splice(this.ranges.indexOf(entry), 1);
    }
    return true;
  }

  /** Index of the first interval whose start is > skey. */
  private upperBound(skey: string): number {
    const r = this.ranges;
    let lo = 0, hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid]!.start <= skey) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /**
   * Calls fn for every watcher whose range holds skey (each watcher once: a
   * watcher has one range). fn must not add to or delete from the group.
   */
  forEachMatching(skey: string, fn: (w: Watcher) => void): void {
    // Set#forEach: no iterator result object per watcher, as for…of may make.
    this.keys.get(skey)?.forEach(fn);
    const n = this.upperBound(skey);
    for (let i = 0; i < n; i++) {
      const e = this.ranges[i]!;
      if (e.end === null || skey < e.end) e.watchers.forEach(fn);
    }
  }

  /** Does any watcher of the group watch skey? */
  contains(skey: string): boolean {
    if (this.keys.has(skey)) return true;
    const n = this.upperBound(skey);
    for (let i = 0; i < n; i++) {
      const e = this.ranges[i]!;
      if (e.end === null || skey < e.end) return true;
    }
    return false;
  }
}
