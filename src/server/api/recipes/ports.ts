// What the lock and election recipes (etcd's clientv3/concurrency, run inside the
// server as etcd's v3lock/v3election services run them over an in-process
// client) need: the KV requests through Raft, a lease grant, and a feed of the
// events on a key range. Every call is made as the caller (`who`), so the auth
// checks are those of the KV operations the recipe performs.

import type { AuthInfo } from '../../../auth/index.js';
import type { Event } from '../../../mvcc/index.js';
import type { AuthGate, LeaseApi, RaftKV } from '../ports.js';

/** One batch of events on a watched range, and the revision the store was at. */
export interface EventBatch {
  events: Event[];
  revision: number;
}

/** The events on one range from a start revision on, read one batch at a time. */
export interface EventFeed {
  /**
   * The next batch, waiting for it if none is there yet. Rejects with
   * etcd's "required revision has been compacted" when the start revision is
   * gone, and with the signal's reason once it aborts.
   */
  next(signal: AbortSignal): Promise<EventBatch>;
  /** Stops watching; a pending or later next() rejects. */
  close(): void;
}

export interface KeyEvents {
  /**
   * Watches [key, rangeEnd) (rangeEnd undefined: the key alone) from `startRev` on.
   * Never delivers before the caller got the feed.
   */
  open(key: Uint8Array, rangeEnd: Uint8Array | undefined, startRev: number): EventFeed;
}

/** What one recipe call works with: the member's ports, the caller, and the call's lifetime. */
export interface RecipeContext {
  kv: RaftKV;
  leases: Pick<LeaseApi, 'grant'>;
  events: KeyEvents;
  gate: Pick<AuthGate, 'checkRange'>;
  who: AuthInfo | undefined;
  /** Aborts when the client cancels the call, its deadline passes or the connection goes. */
  signal: AbortSignal;
}

/** The member's ports the recipes use; each call adds the caller and its signal. */
export type RecipePorts = Omit<RecipeContext, 'who' | 'signal'>;
