// etcd's concurrency.Mutex as its v3lock server runs it: the lock is the oldest
// key under "<name>/"; a contender adds "<name>/<lease hex>" bound to its lease
// and waits until every older key is gone (released, or its lease expired).

import type * as pb from '../../../pb/types.js';
import { ErrEmptyKey } from '../../errors.js';
import type { RecipeContext } from './ports.js';
import { createRevisionIs, deleteRequest, firstCreated, op, putRequest, rangeRequest, txnRequest } from './requests.js';
import { prefixOf, sessionKey, sessionLease } from './session.js';
import { waitDeletes } from './wait-deletes.js';

const EMPTY = Buffer.alloc(0);

export interface Held {
  /** The lock's key: pass it to unlock. */
  key: Buffer;
  header: pb.ResponseHeader;
}

/**
 * Acquires the lock `name` for `lease` (0: a fresh 60 s lease). Taking it again
 * with the same lease returns at once: the key is reused. When the wait fails
 * (the call aborted, the watch compacted) the key is deleted again.
 */
export async function lock(ctx: RecipeContext, name: Uint8Array, requestedLease: bigint): Promise<Held> {
  const lease = await sessionLease(ctx, requestedLease);
  const prefix = prefixOf(name);
  const key = sessionKey(prefix, lease);
  // One round trip when uncontended: create the key (or find ours) and read the holder.
  const owner = firstCreated(prefix);
  const res = await ctx.kv.txn(
    txnRequest(
      [createRevisionIs(key, 0)],
      [op.put(putRequest(key, EMPTY, lease)), op.range(owner)],
      [op.range(rangeRequest(key)), op.range(owner)],
    ),
    ctx.who,
  );
  const myRev = res.succeeded ? Number(res.header!.revision) : Number(res.responses[0]!.responseRange!.kvs[0]!.createRevision);
  const holder = res.responses[1]!.responseRange!.kvs[0];
  try {
    if (holder === undefined || Number(holder.createRevision) === myRev) {
      // etcd would answer a caller that is gone already and leave its key to the
      // lease; releasing it at once spares the other contenders that wait.
      ctx.signal.throwIfAborted();
      return { key, header: res.header! };
    }
    return { key, header: await waitDeletes(ctx, prefix, myRev - 1) };
  } catch (err) {
    await releaseQuietly(ctx, key);
    throw err;
  }
}

/** Deletes the lock's key, whoever holds it (etcd's Unlock is a plain delete). */
export async function unlock(ctx: Pick<RecipeContext, 'kv' | 'who'>, key: Uint8Array): Promise<pb.ResponseHeader> {
  if (key.length === 0) throw ErrEmptyKey();
  return (await ctx.kv.deleteRange(deleteRequest(key), ctx.who)).header!;
}

/** Cleanup after a failed wait: the call's own signal may have aborted, the delete still has to happen. */
async function releaseQuietly(ctx: RecipeContext, key: Uint8Array): Promise<void> {
  await unlock(ctx, key).catch(() => {});
}
