// Ordered in-memory index of all keys (etcd's treeIndex): a "sorted list of
// chunks", each chunk a small sorted array of KeyIndex, plus an array of chunk
// maxima searched by bisection. Point lookups bisect too (~20 string
// comparisons at a million keys), which costs less than what a hash map beside
// it would hold: ~40 B per key. Inserts cost O(log n + chunk size); appending
// keys in ascending order — the common pattern — touches only the last chunk,
// and leaves full chunks behind it rather than half-full ones.
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
  private chunks: KeyIndex[][] = [];
  /** maxes[c] = the greatest key of chunks[c]. */
  private maxes: string[] = [];
  private count = 0;

  get size(): number { return this.count; }

  get(skey: string): KeyIndex | undefined {
    const c = lowerBoundStr(this.maxes, skey);
    if (c === this.chunks.length) return undefined;
    const chunk = this.chunks[c]!;
    const ki = chunk[lowerBound(chunk, skey)]!;
    return ki.skey === skey ? ki : undefined;
  }

  /** Returns the existing KeyIndex for skey or inserts a new empty one. */
  getOrCreate(skey: string): KeyIndex {
    const chunks = this.chunks, maxes = this.maxes;
    const last = chunks.length - 1;
    if (last < 0 || maxes[last]! < skey) {
      // Beyond every key (ascending inserts): append to the last chunk.
      const ki = new KeyIndex(skey);
      if (last < 0) { chunks.push([ki]); maxes.push(skey); } else { chunks[last]!.push(ki); maxes[last] = skey; this.splitIfFull(last, true); }
      this.count++;
      return ki;
    }
    const c = lowerBoundStr(maxes, skey);
    const chunk = chunks[c]!;
    const i = lowerBound(chunk, skey);
    const found = chunk[i]!;
    if (found.skey === skey) return found;
    const ki = new KeyIndex(skey);
    chunk.splice(i, 0, ki);
    this.count++;
    this.splitIfFull(c, false);
    return ki;
  }

  // Splits chunk c once it outgrows CHUNK_MAX. After an append at the very end
  // the left part stays full (ascending inserts never come back to it);
  // otherwise it splits in halves. Both parts are exact-size copies: a chunk
  // grown by push() has spare capacity that would otherwise stay allocated.
  private splitIfFull(c: number, appended: boolean): void {
    const chunk = this.chunks[c]!;
    if (chunk.length <= CHUNK_MAX) return;
    const at = appended ? chunk.length - 1 : chunk.length >> 1;
    const left = chunk.slice(0, at), right = chunk.slice(at);
    this.chunks.splice(c, 1, left, right);
    this.maxes.splice(c, 1, left[left.length - 1]!.skey, right[right.length - 1]!.skey);
  }

  remove(skey: string): boolean {
    const c = lowerBoundStr(this.maxes, skey);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, skey);
    if (chunk[i]!.skey !== skey) return false;
    chunk.splice(i, 1);
    this.count--;
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
