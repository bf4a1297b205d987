// Reads the history of the store as watch events, for watchers that are behind
// (unsynced): every change of revisions [from, …] whose key some watcher wants,
// in revision order, in bounded batches. Also looks up the previous version of
// a key for events of watchers that asked for prev_kv.
//
// Where the records are: the backend overlay holds every revision not yet (or
// just) flushed, and flushes complete in revision order, so the overlay always
// holds a suffix of the history; LevelDB holds the rest. The overlay is looked
// at first, synchronously, and the LevelDB iterator is opened after: a revision
// missing from the overlay at that moment was flushed before, so the iterator
// sees it. When the whole range is still in the overlay — a watcher only a
// little behind — no I/O happens at all and the read returns synchronously.

import type { Backend } from './backend.js';
import { isTombstoneKv } from './revision-records.js';
import type { ReadGuard } from './compaction.js';
import { decodeKeyValue } from './kv-codec.js';
import { toSkey } from './keys.js';
import { parseRevKey, revKey } from './revision.js';
import type { TreeIndex } from './tree-index.js';
import type { Event, KeyValue } from './types.js';

export interface EventSource {
  readonly backend: Backend;
  readonly guard: ReadGuard;
  readonly index: TreeIndex;
  currentRevision(): number;
  compactRevision(): number;
}

export interface ReadLimits {
  /** Revisions per batch at most (etcd: 1000). */
  maxRevs: number;
  /** Stop at the first revision boundary once the batch's events hold this many bytes. */
  maxBytes: number;
}

export interface EventBatch {
  events: Event[];
  /** Every revision up to and including this one has been read. */
  toRev: number;
}

/** Rough in-memory cost of one event beyond its key and value bytes. */
export const EVENT_OVERHEAD_BYTES = 96;

class Collector {
  readonly events: Event[] = [];
  private bytes = 0;
  private main = 0;
  covered: number;
  stopped = false;

  constructor(from: number, private readonly maxBytes: number, private readonly wanted: (skey: string) => boolean) {
    this.covered = from - 1;
  }

  /** One record, in revision order. False: the budget is spent; this record's revision was not started. */
  add(main: number, kv: KeyValue, tombstone: boolean): boolean {
    if (main !== this.main) {
      // A new revision begins, so the previous one is complete: a batch never
      // ends in the middle of a revision (one Txn is never split).
      if (this.main !== 0) this.covered = this.main;
      if (this.bytes >= this.maxBytes) {
        this.stopped = true;
        return false;
      }
      this.main = main;
    }
    if (!this.wanted(toSkey(kv.key))) return true;
    // A tombstone is stored as its key alone; the event carries the revision of
    // the deletion, as etcd patches it in.
    const ev: Event = tombstone ? { type: 'DELETE', kv: kv.modRevision === main ? kv : { ...kv, modRevision: main } } : { type: 'PUT', kv };
    this.events.push(ev);
    this.bytes += kv.key.length + kv.value.length + EVENT_OVERHEAD_BYTES;
    return true;
  }

  addRevision(main: number, kvs: KeyValue[]): boolean {
    for (const kv of kvs) if (!this.add(main, kv, isTombstoneKv(kv))) return false;
    return true;
  }

  result(limitRev: number): EventBatch {
    return { events: this.events, toRev: this.stopped ? this.covered : limitRev };
  }
}

/**
 * Events of revisions [from, …] for keys where wanted(skey) holds, up to the
 * store's current revision and within `limits`. The caller must have checked
 * that `from` is not below the compacted revision. Synchronous when every
 * revision needed is still in the overlay.
 */
export function readEvents(
  src: EventSource,
  from: number,
  limits: ReadLimits,
  wanted: (skey: string) => boolean,
): EventBatch | Promise<EventBatch> {
  from = Math.max(from, 1);
  const cur = src.currentRevision();
  if (from > cur) return { events: [], toRev: cur };
  const limitRev = Math.min(cur, from + Math.max(1, limits.maxRevs) - 1);
  const col = new Collector(from, limits.maxBytes, wanted);
  const backend = src.backend;

  // The overlay's part of [from, limitRev]: a suffix, found walking down.
  let firstBuffered = limitRev + 1;
  while (firstBuffered > from && backend.bufferedRevision(firstBuffered - 1) !== undefined) firstBuffered--;
  const fromOverlay = (): EventBatch => {
    for (let m = firstBuffered; m <= limitRev; m++) {
      const kvs = backend.bufferedRevision(m);
      // Revisions are contiguous; a hole would be a bug in the suffix reasoning above.
      if (kvs === undefined) throw new Error(`mvcc: revision ${m} vanished from the write buffer during a watch read`);
      if (!col.addRevision(m, kvs)) break;
    }
    return col.result(limitRev);
  };
  if (firstBuffered === from) return fromOverlay();

  // Keep what the overlay holds now: its revisions may be flushed and dropped
  // from it while LevelDB is read.
  const buffered = new Map<number, KeyValue[]>();
  for (let m = firstBuffered; m <= limitRev; m++) buffered.set(m, backend.bufferedRevision(m)!);
  const ticket = src.guard.enter();
  const it = backend.db.iterator({ gte: revKey(from, 0), lt: revKey(firstBuffered, 0) });
  return (async (): Promise<EventBatch> => {
    try {
      scan: for (;;) {
        const entries = await it.nextv(256);
        if (entries.length === 0) break;
        for (const [k, v] of entries) {
          const r = parseRevKey(k);
          if (!col.add(r.main, decodeKeyValue(v), r.tombstone)) break scan;
        }
      }
    } finally {
      await it.close();
      src.guard.leave(ticket);
    }
    if (!col.stopped) {
      for (let m = firstBuffered; m <= limitRev; m++) if (!col.addRevision(m, buffered.get(m)!)) break;
    }
    return col.result(limitRev);
  })();
}

/**
 * The key's version just before `ev` (etcd's Range at mod_revision - 1), or
 * undefined when there is none or that revision is compacted away. Creations
 * (a PUT whose create and mod revisions are equal) have none by definition.
 */
export function prevKvOf(src: EventSource, ev: Event): KeyValue | undefined | Promise<KeyValue | undefined> {
  const kv = ev.kv;
  if (ev.type === 'PUT' && kv.createRevision === kv.modRevision) return undefined;
  const rev = kv.modRevision - 1;
  if (rev <= 0 || rev < src.compactRevision()) return undefined;
  const info = src.index.get(toSkey(kv.key))?.get(rev);
  if (info === undefined) return undefined;
  // Index lookup and ticket in the same synchronous step: a compaction that
  // starts later waits for this read before deleting what it needs.
  const ticket = src.guard.enter();
  let r: KeyValue[] | Promise<KeyValue[]>;
  try {
    r = src.backend.fetchLive([info.modMain], [info.modSub]);
  } catch (err) {
    src.guard.leave(ticket);
    throw err;
  }
  if (Array.isArray(r)) {
    src.guard.leave(ticket);
    return r[0];
  }
  return r.then(
    (kvs) => { src.guard.leave(ticket); return kvs[0]; },
    (err: unknown) => { src.guard.leave(ticket); throw err; },
  );
}
