// etcd's concurrency.Election as its v3election server runs it: candidates put
// "<name>/<lease hex>" with their value; the leader is the oldest key under
// "<name>/". Proclaim and Resign act only while the key is still the one the
// campaign created (same create revision), so a leader that lost its lease
// cannot overwrite or delete a successor's key.

import type * as pb from '../../../pb/types.js';
import { Code, EtcdError } from '../../errors.js';
import { kvToPb } from '../../kv-convert.js';
import type { HeaderSource } from '../ports.js';
import type { RecipeContext } from './ports.js';
import { createRevisionIs, deleteRequest, firstCreated, op, prefixEnd, putRequest, rangeRequest, txnRequest } from './requests.js';
import { prefixOf, sessionKey, sessionLease } from './session.js';
import { waitDeletes, withFeed } from './wait-deletes.js';

// etcd's texts (clientv3/concurrency, v3election); its election server
// answers them, like every error it meets, with status Unknown.
export const ErrElectionNotLeader = (): EtcdError => new EtcdError(Code.UNKNOWN, 'election: not leader');
export const ErrElectionNoLeader = (): EtcdError => new EtcdError(Code.UNKNOWN, 'election: no leader');
export const ErrMissingLeaderKey = (): EtcdError => new EtcdError(Code.UNKNOWN, '"leader" field must be provided');

/** A won campaign, as Proclaim and Resign name it (v3electionpb.LeaderKey). */
export interface Leadership {
  key: Uint8Array;
  /** The key's create revision. */
  rev: number;
  lease: bigint;
}

/**
 * Campaigns for `name` with `value` until this lease's key is the oldest.
 * Campaigning again with the same lease reuses the key (proclaiming the new value).
 * A call that aborts while waiting resigns.
 */
export async function campaign(
  ctx: RecipeContext,
  name: Uint8Array,
  requestedLease: bigint,
  value: Uint8Array,
): Promise<{ header: pb.ResponseHeader; leader: Leadership }> {
  const lease = await sessionLease(ctx, requestedLease);
  const prefix = prefixOf(name);
  const key = sessionKey(prefix, lease);
  const res = await ctx.kv.txn(
    txnRequest([createRevisionIs(key, 0)], [op.put(putRequest(key, value, lease))], [op.range(rangeRequest(key))]),
    ctx.who,
  );
  const leader: Leadership = { key, rev: Number(res.header!.revision), lease };
  if (!res.succeeded) {
    const existing = res.responses[0]!.responseRange!.kvs[0]!;
    leader.rev = Number(existing.createRevision);
    if (!Buffer.from(value).equals(existing.value)) {
      try {
        await proclaim(ctx, leader, value);
      } catch (err) {
        await resign(ctx, leader).catch(() => {});
        throw err;
      }
    }
  }
  try {
    await waitDeletes(ctx, prefix, leader.rev - 1);
  } catch (err) {
    // etcd resigns only when the caller went away; after a failed watch the key stays.
    if (ctx.signal.aborted) await resign(ctx, leader).catch(() => {});
    throw err;
  }
  // etcd answers with the header of the campaign's first write, not of the wait.
  return { header: res.header!, leader };
}

/** Sets the leader's value, if `leader` still holds its key. */
export async function proclaim(ctx: Pick<RecipeContext, 'kv' | 'who'>, leader: Leadership, value: Uint8Array): Promise<pb.ResponseHeader> {
  const res = await ctx.kv.txn(
    txnRequest([createRevisionIs(leader.key, leader.rev)], [op.put(putRequest(leader.key, value, leader.lease))]),
    ctx.who,
  );
  if (!res.succeeded) throw ErrElectionNotLeader();
  return res.header!;
}

/** Deletes the leader's key if it is still the campaign's; succeeds either way. */
export async function resign(ctx: Pick<RecipeContext, 'kv' | 'who'>, leader: Leadership): Promise<pb.ResponseHeader> {
  const res = await ctx.kv.txn(txnRequest([createRevisionIs(leader.key, leader.rev)], [op.delete(deleteRequest(leader.key))]), ctx.who);
  return res.header!;
}

/** The current leader's key and value. */
export async function leader(ctx: Pick<RecipeContext, 'kv' | 'who'>, name: Uint8Array): Promise<pb.LeaderResponse> {
  const res = await ctx.kv.range(firstCreated(prefixOf(name)), ctx.who);
  const kv = res.kvs[0];
  if (kv === undefined) throw ErrElectionNoLeader();
  return { header: res.header, kv };
}

/**
 * Sends the leader of `name` and then every change of it, in order, until the
 * call aborts (etcd's Election.Observe): the current leader (or, when there is
 * none, the first key put under the prefix), each new value of its key, and,
 * once the key is deleted, the next leader. Returns without error when the
 * call aborts or a read or watch fails (etcd then ends the stream with OK).
 * `send` resolves once the response may be followed by the next one.
 */
export async function observe(
  ctx: RecipeContext,
  info: HeaderSource,
  name: Uint8Array,
  send: (res: pb.LeaderResponse) => Promise<void>,
): Promise<void> {
  const prefix = prefixOf(name);
  try {
    for (;;) {
      const current = await ctx.kv.range(firstCreated(prefix), ctx.who);
      let first: pb.LeaderResponse;
      if (current.kvs[0] !== undefined) {
        first = { header: current.header, kv: current.kvs[0] };
      } else {
        first = await firstPut(ctx, info, prefix, Number(current.header!.revision));
      }
      await send(first);
      await followKey(ctx, info, first.kv!.key, Number(first.header!.revision) + 1, send);
    }
  } catch {
    // The caller went away, or a read or watch failed: the stream just ends.
  }
}

/** The first key put under the prefix from `fromRev` on, with the header at its revision. */
async function firstPut(ctx: RecipeContext, info: HeaderSource, prefix: Uint8Array, fromRev: number): Promise<pb.LeaderResponse> {
  const end = prefixEnd(prefix);
  ctx.gate.checkRange(ctx.who, prefix, end);
  return withFeed(ctx.events.open(prefix, end, fromRev), async (feed) => {
    for (;;) {
      const batch = await feed.next(ctx.signal);
      const put = batch.events.find((ev) => ev.type === 'PUT');
      if (put) return { header: info.header(put.kv.modRevision), kv: kvToPb(put.kv) };
    }
  });
}

/** Sends each new value of `key` from `fromRev` on; returns once it is deleted. */
async function followKey(
  ctx: RecipeContext,
  info: HeaderSource,
  key: Uint8Array,
  fromRev: number,
  send: (res: pb.LeaderResponse) => Promise<void>,
): Promise<void> {
  ctx.gate.checkRange(ctx.who, key, new Uint8Array(0));
  await withFeed(ctx.events.open(key, undefined, fromRev), async (feed) => {
    for (;;) {
      const batch = await feed.next(ctx.signal);
      for (const ev of batch.events) {
        if (ev.type === 'DELETE') return;
        await send({ header: info.header(batch.revision), kv: kvToPb(ev.kv) });
      }
    }
  });
}
