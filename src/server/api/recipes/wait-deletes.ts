// The wait at the heart of both recipes (etcd's concurrency waitDeletes): until
// no key under the prefix was created at or before `maxCreateRev`. It waits for
// one key at a time, the newest of the older ones, so each waiter watches only
// its predecessor and a release wakes one waiter, not all of them.

import type { Event } from '../../../mvcc/index.js';
import type * as pb from '../../../pb/types.js';
import type { EventFeed, RecipeContext } from './ports.js';
import { lastCreatedUpTo } from './requests.js';

/** Resolves with the header of the range that found no older key; rejects when the call aborts or the watch is compacted. */
export async function waitDeletes(ctx: RecipeContext, prefix: Uint8Array, maxCreateRev: number): Promise<pb.ResponseHeader> {
  for (;;) {
    ctx.signal.throwIfAborted();
    const res = await ctx.kv.range(lastCreatedUpTo(prefix, maxCreateRev), ctx.who);
    const older = res.kvs[0];
    if (older === undefined) return res.header!;
    await waitDelete(ctx, older.key, Number(res.header!.revision));
  }
}

/** Resolves once `key` is deleted at or after revision `fromRev`. */
export async function waitDelete(ctx: RecipeContext, key: Uint8Array, fromRev: number): Promise<void> {
  // A watch is a read: the caller needs READ on the key, as etcd's watch checks.
  ctx.gate.checkRange(ctx.who, key, new Uint8Array(0));
  await withFeed(ctx.events.open(key, undefined, fromRev), async (feed) => {
    for (;;) {
      const batch = await feed.next(ctx.signal);
      if (batch.events.some((ev: Event) => ev.type === 'DELETE')) return;
    }
  });
}

/** Runs fn on the feed and closes it however fn ends, so no watcher outlives its wait. */
export async function withFeed<T>(feed: EventFeed, fn: (feed: EventFeed) => Promise<T>): Promise<T> {
  try {
    return await fn(feed);
  } finally {
    feed.close();
  }
}
