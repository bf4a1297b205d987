// KeyEvents over this member's watch hub: each feed is a one-watcher WatchStream
// whose sink keeps a few batches for the recipe to read. A recipe that is slow
// to read (an Observe stream whose client does not read) makes the sink refuse
// further batches; the hub then keeps the one refused batch and offers it again
// after kick(), so nothing is lost and memory stays bounded, as for a Watch
// stream.

import { AUTO_WATCH_ID, WatchStream, type MvccWatchResponse, type WatchHub } from '../../../mvcc/index.js';
import { ErrCompacted } from '../../errors.js';
import type { ClientApi } from '../ports.js';
import type { EventBatch, EventFeed, KeyEvents, RecipePorts } from './ports.js';

/** Batches a feed holds before refusing more (the hub keeps the next one). */
const FEED_BATCHES = 16;

class HubFeed implements EventFeed {
  private readonly stream: WatchStream;
  private readonly batches: EventBatch[] = [];
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(private readonly hub: WatchHub, key: Uint8Array, rangeEnd: Uint8Array | undefined, startRev: number) {
    this.stream = new WatchStream(hub, { send: (res) => this.take(res) });
    this.stream.watch({ id: AUTO_WATCH_ID, key, rangeEnd, startRev, filters: { noPut: false, noDelete: false } });
  }

  private take(res: MvccWatchResponse): boolean {
    if (this.closed) return true;
    if (res.compactRevision !== 0) this.failure = ErrCompacted();
    else if (res.events.length === 0) return true; // a progress notification: nothing to wait for
    else if (this.batches.length >= FEED_BATCHES) return false;
    else this.batches.push({ events: res.events, revision: res.revision });
    this.wake?.();
    return true;
  }

  async next(signal: AbortSignal): Promise<EventBatch> {
    for (;;) {
      signal.throwIfAborted();
      if (this.closed) throw new Error('etcd-ts: event feed closed');
      const batch = this.batches.shift();
      if (batch) {
        if (this.batches.length === FEED_BATCHES - 1) this.hub.kick();
        return batch;
      }
      if (this.failure) throw this.failure;
      await this.arrival(signal);
    }
  }

  /** Resolves when a batch or failure arrives or the signal aborts (then next() throws). */
  private arrival(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.close();
    this.batches.length = 0;
    this.wake?.();
  }
}

export function hubEvents(hub: WatchHub): KeyEvents {
  return { open: (key, rangeEnd, startRev) => new HubFeed(hub, key, rangeEnd, startRev) };
}

/** The recipes' ports on a member: its RaftKV, lease grants, watch hub and auth checks (the gRPC services and the JSON gateway build them alike). */
export function recipePorts(api: Pick<ClientApi, 'kv' | 'lease' | 'watch' | 'auth'>): RecipePorts {
  return { kv: api.kv, leases: api.lease, events: hubEvents(api.watch.watchHub), gate: api.auth };
}
