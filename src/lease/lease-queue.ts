// A min-heap of (lease id, time) with at most one entry per lease: setting the
// time of a lease already queued moves its entry in place (an indexed heap, as
// etcd's LeaseExpiredNotifier does with heap.Fix), so renewals do not pile up
// stale entries. Peek is O(1); set, remove and pop are O(log n).
//
// Ties on time are broken by id, so the order leases come out in does not
// depend on the order they went in.

import type { LeaseId } from './types.js';

interface Entry {
  id: LeaseId;
  time: number;
  index: number;
}

export interface QueueItem {
  readonly id: LeaseId;
  readonly time: number;
}

const before = (a: Entry, b: Entry): boolean => a.time < b.time || (a.time === b.time && a.id < b.id);

export class LeaseQueue {
  private readonly heap: Entry[] = [];
  private readonly byId = new Map<LeaseId, Entry>();

  get size(): number {
    return this.heap.length;
  }

  has(id: LeaseId): boolean {
    return this.byId.has(id);
  }

  timeOf(id: LeaseId): number | undefined {
    return this.byId.get(id)?.time;
  }

  /** Queues `id` at `time`, or moves it there if already queued. */
  set(id: LeaseId, time: number): void {
    const e = this.byId.get(id);
    if (e === undefined) {
      const entry: Entry = { id, time, index: this.heap.length };
      this.heap.push(entry);
      this.byId.set(id, entry);
      this.up(entry.index);
      return;
    }
    const earlier = time < e.time;
    e.time = time;
    if (earlier) this.up(e.index);
    else this.down(e.index);
  }

  remove(id: LeaseId): boolean {
    const e = this.byId.get(id);
    if (e === undefined) return false;
    this.byId.delete(id);
    const last = this.heap.pop()!;
    if (last !== e) {
      // Fill the hole with the last entry and restore order around it.
      this.heap[e.index] = last;
      last.index = e.index;
      this.up(last.index);
      this.down(last.index);
    }
    return true;
  }

  peek(): QueueItem | undefined {
    const top = this.heap[0];
    return top === undefined ? undefined : { id: top.id, time: top.time };
  }

  pop(): QueueItem | undefined {
    const top = this.peek();
    if (top !== undefined) this.remove(top.id);
    return top;
  }

  clear(): void {
    this.heap.length = 0;
    this.byId.clear();
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!before(e, parent)) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = e;
    e.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!before(child, e)) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = e;
    e.index = i;
  }
}
