// Compaction in two steps, as etcd: the index is compacted at once (reads below
// the compact revision fail from then on), and the backend records that only the
// old index referenced are deleted in the background, in small batches with
// pauses so writers keep the disk. scheduledCompactRev is persisted before the
// deletions and finishedCompactRev with the last batch, so a crash in between is
// finished at the next open.

import type { Backend } from './backend.js';
import { META_FINISHED_COMPACT } from './keyspace.js';
import { revKey, parseRevKey, u64Bytes } from './revision.js';
import type { TreeIndex } from './tree-index.js';
import type { MvccLogger } from './types.js';
import { FAILPOINTS_ON, failpointAsync } from '../util/failpoints.js';

/** Kept revisions: main → subs. Tombstones are never kept. */
export type KeepSet = Map<number, number[]>;

function addKeep(keep: KeepSet, main: number, sub: number): void {
  const subs = keep.get(main);
  if (subs === undefined) keep.set(main, [sub]);
  else subs.push(sub);
}

export function isKept(keep: KeepSet, main: number, sub: number): boolean {
  const subs = keep.get(main);
  return subs !== undefined && subs.includes(sub);
}

/** Compacts the index at rev; returns the revisions ≤ rev that must survive in the backend. */
export function compactIndex(index: TreeIndex, rev: number): KeepSet {
  const keep: KeepSet = new Map();
  const sink = (m: number, s: number): void => addKeep(keep, m, s);
  index.forEach((ki) => {
    ki.compact(rev, sink);
    if (ki.isEmpty()) index.remove(ki.skey);
  });
  return keep;
}

/** What compactIndex(rev) keeps, without modifying the index (used by HashKV). */
export function keepSet(index: TreeIndex, rev: number): KeepSet {
  const keep: KeepSet = new Map();
  const sink = (m: number, s: number): void => addKeep(keep, m, s);
  index.forEach((ki) => ki.keep(rev, sink));
  return keep;
}

/**
 * Tracks in-flight reads so physical compaction never deletes a revision a read
 * looked up in the index before the index was compacted. Reads take a ticket
 * (the current epoch); a compaction bumps the epoch and waits for every older
 * ticket to be returned.
 */
export class ReadGuard {
  private epoch = 0;
  private readonly active = new Map<number, number>();
  private waiters: { epoch: number; resolve: () => void }[] = [];

  enter(): number {
    const e = this.epoch;
    this.active.set(e, (this.active.get(e) ?? 0) + 1);
    return e;
  }

  leave(e: number): void {
    const n = (this.active.get(e) ?? 1) - 1;
    if (n > 0) { this.active.set(e, n); return; }
    this.active.delete(e);
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    const ready: typeof this.waiters = [];
    for (const w of this.waiters) (this.busyBefore(w.epoch) ? still : ready).push(w);
    this.waiters = still;
    for (const w of ready) w.resolve();
  }

  private busyBefore(epoch: number): boolean {
    for (const e of this.active.keys()) if (e < epoch) return true;
    return false;
  }

  /** Call synchronously right after compacting the index; resolves when older reads are done. */
  barrier(): Promise<void> {
    const e = ++this.epoch;
    if (!this.busyBefore(e)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ epoch: e, resolve }));
  }
}

export interface PhysicalCompactionOptions {
  batchLimit: number;
  sleepMs: number;
  /** Polled between batches; true stops early (store closing), leaving the rest for the next open. */
  stopped: () => boolean;
  logger?: MvccLogger;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Deletes backend revisions ≤ rev not in keep. Returns true when finished (finishedCompactRev written). */
export async function physicalCompact(backend: Backend, rev: number, keep: KeepSet, opts: PhysicalCompactionOptions): Promise<boolean> {
  const end = revKey(rev + 1, 0);
  let from: Uint8Array = revKey(0, 0);
  let first = true;
  let deleted = 0;
  const started = Date.now();
  for (;;) {
    const range = first ? { gte: from, lt: end } : { gt: from, lt: end };
    first = false;
    const entries = await backend.db.iterator({ ...range, limit: opts.batchLimit }).all();
    const keys = entries.map(([k]) => k);
    const ops: ({ type: 'del'; key: Uint8Array } | { type: 'put'; key: Uint8Array; value: Uint8Array })[] = [];
    let freed = 0;
    for (const [k, v] of entries) {
      const r = parseRevKey(k);
      // Tombstones are kept only when the index says so (a delete at exactly rev).
      if (!isKept(keep, r.main, r.sub)) {
        ops.push({ type: 'del', key: k });
        freed += k.length + v.length;
      }
    }
    deleted += ops.length;
    const last = keys.length < opts.batchLimit;
    if (last) ops.push({ type: 'put', key: META_FINISHED_COMPACT, value: u64Bytes(rev) });
    if (FAILPOINTS_ON) await failpointAsync('compactBeforeCommitBatch');
    if (ops.length > 0) await backend.writeDirect(ops);
    if (FAILPOINTS_ON) await failpointAsync('compactAfterCommitBatch');
    backend.noteFreed(freed);
    if (last) {
      opts.logger?.info({ compactRevision: rev, deleted, tookMs: Date.now() - started }, 'finished scheduled compaction');
      return true;
    }
    from = keys[keys.length - 1]!;
    await sleep(opts.sleepMs);
    if (opts.stopped()) return false;
  }
}
