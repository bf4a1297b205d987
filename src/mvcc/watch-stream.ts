// The watchers of one client stream (etcd's mvcc watchStream): watch id
// allocation, duplicate and empty-range checks, cancel, progress requests. All
// of them deliver into the stream's one sink, so per-stream order is the order
// the hub produces.

import { toSkey } from './keys.js';
import type { WatchHub } from './watch-hub.js';
import type { Watcher, WatchFilters, WatchSink } from './watcher.js';

// Texts are etcd's (mvcc/watcher.go): clients see them as cancel_reason.
export const ErrEmptyWatcherRangeText = 'mvcc: watcher range is empty';
export const ErrWatcherDuplicateIdText = 'mvcc: duplicate watch ID provided on the WatchStream';

export class WatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WatchError';
  }
}

/** clientv3.AutoWatchID: let the stream pick. */
export const AUTO_WATCH_ID = 0n;
/** clientv3.InvalidWatchID: failed creates and stream-wide progress responses. */
export const INVALID_WATCH_ID = -1n;

export interface WatchRequest {
  /** AUTO_WATCH_ID, or the client's choice. */
  id: bigint;
  key: Uint8Array;
  /** undefined: the single key; empty: every key ≥ key; otherwise [key, rangeEnd). */
  rangeEnd: Uint8Array | undefined;
  /** First revision wanted; 0: after the current revision. */
  startRev: number;
  filters: WatchFilters;
}

export class WatchStream {
  private nextId = 0n;
  /**
   * Ids in use. As in etcd, a watcher the hub canceled itself (compacted start
   * revision) keeps its id until the client cancels it or the stream closes.
   */
  private readonly watchers = new Map<bigint, Watcher>();
  private closed = false;
  private progressDeferred = false;

  constructor(
    private readonly hub: WatchHub,
    private readonly sink: WatchSink,
  ) {}

  /** Creates a watcher; returns its id. Throws WatchError with etcd's text. */
  watch(req: WatchRequest): bigint {
    const end = req.rangeEnd;
    if (end !== undefined && end.length > 0 && Buffer.compare(req.key, end) >= 0) {
      throw new WatchError(ErrEmptyWatcherRangeText);
    }
    if (this.closed) throw new WatchError(ErrEmptyWatcherRangeText); // etcd answers a closed stream so
    let id = req.id;
    if (id === AUTO_WATCH_ID) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) {
      throw new WatchError(ErrWatcherDuplicateIdText);
    }
    const range = {
      start: toSkey(req.key),
      end: end === undefined ? undefined : end.length === 0 ? null : toSkey(end),
    };
    const w = this.hub.watch({
      id, range, startRev: req.startRev, filters: req.filters, sink: this.sink, onSynced: () => this.onWatcherSynced(),
    });
    this.watchers.set(id, w);
    return id;
  }

  /** False when no such watcher (etcd sends nothing then). */
  cancel(id: bigint): boolean {
    const w = this.watchers.get(id);
    if (w === undefined || this.closed) return false;
    this.hub.cancel(w);
    this.watchers.delete(id);
    this.onWatcherSynced(); // one fewer watcher to wait for
    return true;
  }

  /** A progress notification for one watcher, if it is synced (periodic progress_notify). */
  requestProgress(id: bigint): void {
    const w = this.watchers.get(id);
    if (w !== undefined && !this.closed) this.hub.progress(w);
  }

  /**
   * A stream-wide progress response (watch id -1, the current revision). It is
   * only true once every watcher of the stream has been sent everything up to
   * that revision, so while some are catching up it waits for them (as etcd
   * 3.5 does; 3.4 answered at once, possibly ahead of pending events).
   */
  requestProgressAll(): void {
    if (this.closed) return;
    this.progressDeferred = true;
    this.onWatcherSynced();
  }

  /** Revision of the store behind the stream (header of created/canceled responses). */
  rev(): number {
    return this.hub.revision();
  }

  get size(): number {
    return this.watchers.size;
  }

  private allSynced(): boolean {
    for (const w of this.watchers.values()) if (w.state !== 'synced' && w.state !== 'gone') return false;
    return true;
  }

  private onWatcherSynced(): void {
    if (!this.progressDeferred || this.closed || !this.allSynced()) return;
    // A refused progress response stays deferred; the next synced watcher or
    // request tries again.
    if (this.sink.send({ watchId: INVALID_WATCH_ID, events: [], revision: this.hub.revision(), compactRevision: 0 })) {
      this.progressDeferred = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers.values()) this.hub.cancel(w);
    this.watchers.clear();
  }
}
