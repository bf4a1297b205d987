// The watch hub (etcd's watchableStore): every watcher of this member, fed from
// the store it is attached to.
//
//  - Synced watchers get each revision's events synchronously from the commit
//    listener, one response per watcher per revision (a Txn is never split).
//    Matching goes through a WatcherGroup, not a scan of all watchers.
//  - Unsynced watchers (started at an old revision, or fallen behind) are caught
//    up by a sync loop that reads the history in bounded batches
//    (event-reader.ts): at once when there is work, every syncIntervalMs while
//    some wait on a full consumer. A batch read entirely from the write buffer
//    costs no I/O, so a watcher a little behind rejoins the synced set in the
//    same tick.
//  - A consumer that refuses a response (its buffer is full) makes the watcher a
//    victim: the response is kept and offered again when the consumer reports
//    room (kick) or every victimRetryMs; once taken, the watcher catches up from
//    the store like any unsynced one. Nothing is queued per victim beyond that
//    one response, and the apply path never waits for a consumer.
//
// Single-threaded: commits, sync rounds and cancels interleave only at awaits.
// The one await (a LevelDB read in a sync round) is followed by checks that the
// watchers and the store are still the ones the read was made for.

import { prevKvOf, readEvents, type EventBatch, type EventSource, type ReadLimits } from './event-reader.js';
import { toSkey } from './keys.js';
import type { Event, KeyValue, MvccLogger } from './types.js';
import { Watcher, type WatchFilters, type WatchRange, type WatchResponse, type WatchSink } from './watcher.js';
import { WatcherGroup } from './watcher-group.js';

/** Ceiling of the victim retry period when nothing moves. */
const MAX_VICTIM_RETRY_MS = 100;

export interface HubStore extends EventSource {
  onEvents(listener: (events: Event[], revision: number) => void): () => void;
}

export interface WatchHubOptions {
  /** Sync loop period while unsynced watchers wait (etcd: 100 ms). */
  syncIntervalMs?: number;
  /** Victims are offered their response again this often, besides on kick() (etcd: 10 ms). */
  victimRetryMs?: number;
  /** Revisions per catch-up batch (etcd: 1000). */
  maxRevsPerBatch?: number;
  /** Event bytes per catch-up batch, checked at revision boundaries. */
  maxBytesPerBatch?: number;
  /** Unsynced watchers served per sync round (etcd: 512). */
  maxWatchersPerSync?: number;
  logger?: MvccLogger;
}

export interface WatchParams {
  id: bigint;
  range: WatchRange;
  /** First revision wanted; 0 means "after the current revision". */
  startRev: number;
  filters: WatchFilters;
  sink: WatchSink;
  onSynced?: () => void;
}

export interface WatchHubStats {
  synced: number;
  unsynced: number;
  victims: number;
  /** Times a watcher was moved aside because its consumer was full, since start. */
  victimized: number;
}

export class WatchHub {
  private store: HubStore;
  private unsubscribe: () => void;
  private readonly synced = new WatcherGroup();
  /** Insertion order doubles as round-robin order: a watcher still behind after a round goes to the back. */
  private readonly unsynced = new Set<Watcher>();
  private readonly victims = new Set<Watcher>();
  private readonly opts: Required<Omit<WatchHubOptions, 'logger'>>;
  private readonly limits: ReadLimits;
  private readonly logger: MvccLogger | undefined;
  private syncing = false;
  private syncImmediate: NodeJS.Immediate | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private victimImmediate: NodeJS.Immediate | undefined;
  private victimTimer: NodeJS.Timeout | undefined;
  /** Grows while retries find every consumer still full (a client that stopped reading). */
  private victimDelay: number;
  private closed = false;
  private victimized = 0;
  private prevKvMemo = new WeakMap<Event, KeyValue | undefined | Promise<KeyValue | undefined>>();
  /** notify's scratch list of matching watchers (empty between calls; notify is never re-entered). */
  private readonly hits: (Watcher | undefined)[] = [];

  constructor(store: HubStore, opts: WatchHubOptions = {}) {
    this.opts = {
      syncIntervalMs: 100, victimRetryMs: 10, maxRevsPerBatch: 1000, maxBytesPerBatch: 1 << 20, maxWatchersPerSync: 512, ...opts,
    };
    this.limits = { maxRevs: this.opts.maxRevsPerBatch, maxBytes: this.opts.maxBytesPerBatch };
    this.victimDelay = this.opts.victimRetryMs;
    this.logger = opts.logger;
    this.store = store;
    this.unsubscribe = store.onEvents(this.notify);
  }

  /** The attached store's current revision. */
  revision(): number {
    return this.store.currentRevision();
  }

  stats(): WatchHubStats {
    return { synced: this.synced.size, unsynced: this.unsynced.size, victims: this.victims.size, victimized: this.victimized };
  }

  /**
   * Registers a watcher. Never delivers anything synchronously: the caller can
   * announce the watcher (the "created" response) before its first events.
   */
  watch(p: WatchParams): Watcher {
    const cur = this.store.currentRevision();
    const w = new Watcher(p.id, p.range, p.startRev, p.filters, p.sink, p.onSynced);
    // etcd: 0 or a future revision is synced from the start; anything else,
    // even a negative revision, replays history.
    if (p.startRev === 0 || p.startRev > cur) {
      w.minRev = Math.max(cur + 1, p.startRev);
      w.state = 'synced';
      this.synced.add(w);
    } else {
      w.state = 'unsynced';
      this.unsynced.add(w);
      this.scheduleSync(true);
    }
    return w;
  }

  cancel(w: Watcher): void {
    if (w.state === 'synced') this.synced.delete(w);
    else if (w.state === 'unsynced') this.unsynced.delete(w);
    else if (w.state === 'victim') this.victims.delete(w);
    w.pending = undefined;
    w.state = 'gone';
  }

  /** A progress notification (no events, the current revision), only if the watcher is synced. */
  progress(w: Watcher): void {
    if (w.state !== 'synced') return;
    // Refused means the consumer is busy with events, which say as much.
    w.sink.send({ watchId: w.id, events: [], revision: this.store.currentRevision(), compactRevision: 0 });
  }

  /** A consumer has room again: offer the victims their responses soon. */
  kick(): void {
    if (this.victims.size === 0 || this.victimImmediate !== undefined || this.closed) return;
    this.victimImmediate = setImmediate(() => {
      this.victimImmediate = undefined;
      this.retryVictims();
    });
  }

  /** prev_kv of an event, looked up once however many watchers want it. */
  prevKv(ev: Event): KeyValue | undefined | Promise<KeyValue | undefined> {
    if (this.prevKvMemo.has(ev)) return this.prevKvMemo.get(ev);
    let r = prevKvOf(this.store, ev);
    if (r instanceof Promise) r = r.catch(() => undefined); // as etcd: no prev_kv when the read fails
    this.prevKvMemo.set(ev, r);
    return r;
  }

  /**
   * The store was replaced (a snapshot from the leader was installed). As etcd's
   * Restore: synced watchers go back to unsynced and catch up from the new
   * store, from the revision after the last one they were sent.
   */
  setStore(store: HubStore): void {
    if (store === this.store) return;
    const oldCur = this.store.currentRevision();
    this.unsubscribe();
    this.store = store;
    this.unsubscribe = store.onEvents(this.notify);
    this.prevKvMemo = new WeakMap();
    for (const w of [...this.synced.values()]) {
      this.synced.delete(w);
      w.minRev = Math.max(w.minRev, oldCur + 1);
      w.state = 'unsynced';
      this.unsynced.add(w);
    }
    if (this.unsynced.size > 0) this.scheduleSync(true);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    if (this.syncImmediate !== undefined) clearImmediate(this.syncImmediate);
    if (this.victimImmediate !== undefined) clearImmediate(this.victimImmediate);
    clearTimeout(this.syncTimer);
    clearTimeout(this.victimTimer);
  }

  // --- synced: the apply path ---------------------------------------------------

  private readonly notify = (events: Event[], rev: number): void => {
    if (this.synced.size === 0) return;
    if (events.length === 1) {
      const ev = events[0]!;
      // Matches first, deliveries after (a refused one leaves the group), in an
      // array kept between revisions: a thousand watchers are no garbage here.
      // (Slots are cleared, not the length: a shrunk array would regrow each time.)
      const hits = this.hits;
      let n = 0;
      this.synced.forEachMatching(toSkey(ev.kv.key), (w) => {
        if (rev >= w.minRev) hits[n++] = w;
      });
      try {
        for (let i = 0; i < n; i++) this.deliverSynced(hits[i]!, events, rev);
      } finally {
        for (let i = 0; i < n; i++) hits[i] = undefined;
      }
      return;
    }
    const byWatcher = new Map<Watcher, Event[]>();
    for (const ev of events) {
      this.synced.forEachMatching(toSkey(ev.kv.key), (w) => {
        if (rev < w.minRev) return;
        const evs = byWatcher.get(w);
        if (evs === undefined) byWatcher.set(w, [ev]);
        else evs.push(ev);
      });
    }
    for (const [w, evs] of byWatcher) this.deliverSynced(w, evs, rev);
  };

  private deliverSynced(w: Watcher, events: Event[], rev: number): void {
    const refused = w.offerEvents(events, rev);
    w.minRev = rev + 1;
    if (refused === undefined) return;
    this.synced.delete(w);
    this.makeVictim(w, refused);
  }

  private makeVictim(w: Watcher, pending: WatchResponse): void {
    this.victimized++;
    w.state = 'victim';
    w.pending = pending;
    this.victims.add(w);
    this.scheduleVictimRetry();
  }

  /** A watcher has been sent everything below minRev: synced if that is the whole history, unsynced otherwise. */
  private place(w: Watcher): void {
    if (w.minRev > this.store.currentRevision()) {
      w.state = 'synced';
      this.synced.add(w);
      w.onSynced?.();
    } else {
      w.state = 'unsynced';
      this.unsynced.add(w);
      this.scheduleSync(true);
    }
  }

  // --- victims ------------------------------------------------------------------

  private scheduleVictimRetry(): void {
    if (this.victimTimer !== undefined || this.closed) return;
    this.victimTimer = setTimeout(() => {
      this.victimTimer = undefined;
      this.retryVictims();
    }, this.victimDelay);
    this.victimTimer.unref();
  }

  private retryVictims(): void {
    let moved = 0;
    for (const w of this.victims) {
      // pending was filtered when it was first offered: straight to the sink.
      if (!w.sink.send(w.pending!)) continue;
      w.pending = undefined;
      this.victims.delete(w);
      this.place(w);
      moved++;
    }
    // Consumers that get room again call kick(); the timer is the safety net,
    // and need not spin at full rate for clients that have stopped reading.
    this.victimDelay = moved > 0 ? this.opts.victimRetryMs : Math.min(this.victimDelay * 2, MAX_VICTIM_RETRY_MS);
    if (this.victims.size > 0) this.scheduleVictimRetry();
  }

  // --- unsynced: the sync loop ---------------------------------------------------

  private scheduleSync(soon: boolean): void {
    if (this.closed) return;
    if (soon) {
      if (this.syncImmediate !== undefined) return;
      this.syncImmediate = setImmediate(() => {
        this.syncImmediate = undefined;
        void this.syncRound();
      });
    } else if (this.syncTimer === undefined) {
      this.syncTimer = setTimeout(() => {
        this.syncTimer = undefined;
        void this.syncRound();
      }, this.opts.syncIntervalMs);
      this.syncTimer.unref();
    }
  }

  private async syncRound(): Promise<void> {
    if (this.syncing || this.closed || this.unsynced.size === 0) return;
    this.syncing = true;
    let progressed = false;
    try {
      progressed = await this.syncOnce();
    } catch (err) {
      this.logger?.error({ err }, 'watch: catching up unsynced watchers failed');
    } finally {
      this.syncing = false;
      // More to do right away if the round moved anyone; otherwise wait for
      // consumers (compacted responses refused) or for the next period.
      if (this.unsynced.size > 0) this.scheduleSync(progressed);
    }
  }

  private syncOnce(): boolean | Promise<boolean> {
    const store = this.store;
    const cur = store.currentRevision();
    const compactRev = store.compactRevision();
    const group = new WatcherGroup();
    let minRev = Infinity;
    let progressed = false;
    for (const w of this.unsynced) {
      if (group.size >= this.opts.maxWatchersPerSync) break;
      if (w.minRev < compactRev) {
        // etcd: a watcher that needs compacted history gets the compact revision
        // (header revision 0) and is canceled; if the consumer is full, next round.
        if (w.sink.send({ watchId: w.id, events: [], revision: 0, compactRevision: compactRev })) {
          this.unsynced.delete(w);
          w.state = 'gone';
          progressed = true;
        }
        continue;
      }
      if (w.minRev > cur) {
        // Only after a store swap: it has seen more than this store holds yet.
        this.unsynced.delete(w);
        this.place(w);
        progressed = true;
        continue;
      }
      group.add(w);
      if (w.minRev < minRev) minRev = w.minRev;
    }
    if (group.size === 0) return progressed;
    const batch = readEvents(store, minRev, this.limits, (skey) => group.contains(skey));
    if (batch instanceof Promise) return batch.then((b) => this.finishSync(store, group, b) || progressed);
    return this.finishSync(store, group, batch) || progressed;
  }

  private finishSync(store: HubStore, group: WatcherGroup, batch: EventBatch): boolean {
    // Swapped during the read: the watchers start over on the new store.
    if (store !== this.store) return false;
    const byWatcher = new Map<Watcher, Event[]>();
    for (const ev of batch.events) {
      const rev = ev.kv.modRevision;
      group.forEachMatching(toSkey(ev.kv.key), (w) => {
        if (rev < w.minRev) return;
        const evs = byWatcher.get(w);
        if (evs === undefined) byWatcher.set(w, [ev]);
        else evs.push(ev);
      });
    }
    for (const w of group.values()) {
      if (w.state !== 'unsynced') continue; // canceled during the read
      // A batch cut short by its byte budget may end below a watcher's start.
      if (batch.toRev < w.minRev) continue;
      w.minRev = batch.toRev + 1;
      const evs = byWatcher.get(w);
      this.unsynced.delete(w);
      if (evs !== undefined) {
        const refused = w.offer({ watchId: w.id, events: evs, revision: batch.toRev, compactRevision: 0 });
        if (refused !== undefined) {
          this.makeVictim(w, refused);
          continue;
        }
      }
      // Still behind (writes went on during the read): to the back of the line.
      this.place(w);
    }
    return true;
  }
}
