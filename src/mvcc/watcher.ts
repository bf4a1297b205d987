// One watcher: a key range, the first revision it still has to see, filters,
// and where its responses go. The hub (watch-hub.ts) moves it between states:
//
//   synced    caught up; fed at commit time, straight from the apply path
//   unsynced  behind the store; fed from the backend by the sync loop
//   victim    its consumer refused a response; that one response is kept and
//             offered again when the consumer has room, nothing else is kept
//   gone      canceled, or canceled by the hub after asking for a compacted revision
//
// A watcher never holds more than one pending response, so memory per watcher
// is bounded by one batch whatever its consumer does.

import type { Event } from './types.js';

/** What a watcher's consumer receives (etcd's mvcc.WatchResponse). */
export interface WatchResponse {
  /** The watcher's id on its stream; -1 for a stream-wide progress response. */
  watchId: bigint;
  /** Events in revision order; empty for a progress notification. */
  events: Event[];
  /** The revision the watcher has seen the store up to (the response header's revision). */
  revision: number;
  /** Non-zero: the watcher asked for a compacted revision and is canceled. */
  compactRevision: number;
}

/**
 * The consumer side of watchers (one per client stream). `send` must not block:
 * false means "full, try again later" and the response was not taken. Calling
 * `send` never calls back into the hub synchronously.
 */
export interface WatchSink {
  send(res: WatchResponse): boolean;
  /**
   * Optional: the same as send({ watchId, events, revision, compactRevision: 0 })
   * without the response object. A revision's fan-out offers one events array
   * to every watcher that matches, so a sink can keep them as one.
   */
  sendEvents?(watchId: bigint, events: Event[], revision: number): boolean;
}

export interface WatchFilters {
  noPut: boolean;
  noDelete: boolean;
}

export type WatcherState = 'synced' | 'unsynced' | 'victim' | 'gone';

/**
 * Keys travel as latin1 strings (one char per byte, see keys.ts), so string
 * comparison is byte comparison. `end`: undefined = the single key `start`;
 * null = every key ≥ start (etcd's from-key form); otherwise [start, end).
 */
export interface WatchRange {
  start: string;
  end: string | null | undefined;
}

export class Watcher {
  state: WatcherState = 'unsynced';
  /** The first revision this watcher has not seen yet. */
  minRev: number;
  /** A victim's refused response, offered again by the hub. */
  pending: WatchResponse | undefined;

  constructor(
    readonly id: bigint,
    readonly range: WatchRange,
    startRev: number,
    readonly filters: WatchFilters,
    readonly sink: WatchSink,
    /** Told whenever this watcher becomes synced (deferred progress requests wait for that). */
    readonly onSynced?: () => void,
  ) {
    this.minRev = startRev;
  }

  matches(skey: string): boolean {
    const { start, end } = this.range;
    if (end === undefined) return skey === start;
    return skey >= start && (end === null || skey < end);
  }

  private keep(ev: Event): boolean {
    return ev.type === 'PUT' ? !this.filters.noPut : !this.filters.noDelete;
  }

  /**
   * Filters, then hands the response to the sink. A response whose events are
   * all filtered out counts as delivered without being sent (as etcd does); an
   * empty one to begin with is a progress notification and is sent. Returns
   * undefined when delivered; on refusal, the filtered response, for the caller
   * to keep.
   */
  /** offer() of an events response at `revision`, through the sink's sendEvents when it has one. */
  offerEvents(events: Event[], revision: number): WatchResponse | undefined {
    if (this.filters.noPut || this.filters.noDelete || this.sink.sendEvents === undefined) {
      return this.offer({ watchId: this.id, events, revision, compactRevision: 0 });
    }
    // The response object is only made when it must be kept (refused).
    return this.sink.sendEvents(this.id, events, revision) ? undefined : { watchId: this.id, events, revision, compactRevision: 0 };
  }

  offer(res: WatchResponse): WatchResponse | undefined {
    let out = res;
    if (res.events.length > 0 && (this.filters.noPut || this.filters.noDelete)) {
      const events = res.events.filter((ev) => this.keep(ev));
      if (events.length === 0) return undefined;
      out = { ...res, events };
    }
    return this.sink.send(out) ? undefined : out;
  }
}
