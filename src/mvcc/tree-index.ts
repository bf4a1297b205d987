// Ordered in-memory index of all keys (etcd's treeIndex). Point lookups go
// through a Map; ordered range scans go through a "sorted list of chunks"
// (each chunk a small sorted array, plus an array of chunk maxima searched by
// bisection). Inserts cost O(log n + chunk size) and appending keys in ascending
// order — the common pattern — touches only the last chunk. At 1M keys this is
// ~2000 chunks, so even the chunk-array splices are short.
//
// Keys are latin1 strings (one char per byte): JS string comparison then equals
// bytewise comparison, and comparisons stay in native code.

import { KeyIndex } from './key-index.js';

const CHUNK_MAX = 512;

function lowerBound(arr: KeyIndex[], skey: string): number {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]!.skey < skey) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function lowerBoundStr(arr: string[], skey: string): number {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < skey) lo = mid + 1; else hi = mid;
  }
  return lo;
}

export class TreeIndex {
  private readonly map = new Map<string, KeyIndex>();
  private chunks: KeyIndex[][] = [];
  private maxes: string[] = [];

  get size(): number { return this.map.size; }

  get(skey: string): KeyIndex | undefined { return this.map.get(skey); }

  /** Returns the existing KeyIndex for skey or inserts a new empty one. */
  getOrCreate(skey: string): KeyIndex {
    let ki = this.map.get(skey);
    if (ki === undefined) {
      ki = new KeyIndex(skey);
      this.insert(ki);
    }
    return ki;
  }

  private insert(ki: KeyIndex): void {
    this.map.set(ki.skey, ki);
    const skey = ki.skey;
    const chunks = this.chunks;
    if (chunks.length === 0) { chunks.push([ki]); this.maxes.push(skey); return; }
    let c = lowerBoundStr(this.maxes, skey);
    if (c === chunks.length) {
      // Beyond every key: append to the last chunk.
      c--;
      chunks[c]!.push(ki);
      this.maxes[c] = skey;
    } else {
      const chunk = chunks[c]!;
      chunk.splice(lowerBound(chunk, skey), 0, ki);
    }
    const chunk = chunks[c]!;
    if (chunk.length > CHUNK_MAX) {
      const right = chunk.splice(chunk.length >> 1);
      chunks.splice(c + 1, 0, right);
      this.maxes.splice(c, 1, chunk[chunk.length - 1]!.skey, right[right.length - 1]!.skey);
    }
  }

  remove(skey: string): boolean {
    if (!this.map.delete(skey)) return false;
    const c = lowerBoundStr(this.maxes, skey);
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, skey);
    chunk.splice(i, 1);
    if (chunk.length === 0) {
      this.chunks.splice(c, 1);
      this.maxes.splice(c, 1);
    } else if (i === chunk.length) {
      this.maxes[c] = chunk[chunk.length - 1]!.skey;
    }
    return true;
  }

  /**
   * Calls fn for each key in [start, end) in ascending order; end === null means
   * no upper bound. fn returns false to stop early.
   */
  visit(start: string, end: string | null, fn: (ki: KeyIndex) => boolean | void): void {
    const chunks = this.chunks;
    let c = lowerBoundStr(this.maxes, start);
    if (c === chunks.length) return;
    let i = lowerBound(chunks[c]!, start);
    for (; c < chunks.length; c++, i = 0) {
      const chunk = chunks[c]!;
      for (; i < chunk.length; i++) {
        const ki = chunk[i]!;
        if (end !== null && ki.skey >= end) return;
        if (fn(ki) === false) return;
      }
    }
  }

  /** All keys in order (a copy of the chunk list, so fn may remove keys). */
  forEach(fn: (ki: KeyIndex) => void): void {
    for (const chunk of this.chunks.slice()) {
      for (const ki of chunk.slice()) fn(ki);
    }
  }
}
