// A follower's keep-alives on their way to the leader, batched.
//
// Every keep-alive a follower receives must be answered by the leader. One
// peer call per keep-alive (etcd makes one HTTP request per keep-alive) costs
// both members an HTTP/2 stream, its headers and metadata, and a round of
// grpc-js call objects: most of the follower's CPU under keep-alive load.
// Instead, the keep-alives that arrive while the event loop is busy go out
// together in one RenewBatch call, at most MAX_CALLS_IN_FLIGHT per leader;
// what arrives while those are out waits for the next, so a batch is sized by
// what is waiting, not by a timer. A leader that does not know RenewBatch (an
// older build) gets one Renew call per keep-alive, as before.

import { Code } from '../errors.js';
import type { LeaseId } from '../../lease/index.js';
import { monotonicClock } from '../../lease/index.js';
import type { LeaseHost } from './host.js';
import {
  decodeInt64s, encodeInt64s, keepAliveReq, keepAliveRes, RENEW_BATCH_PATH, RENEW_NOT_LEADER, RENEW_PATH,
} from './peer-protocol.js';

/** Batch calls to one leader at once; more keep-alives wait and join the next batch. */
const MAX_CALLS_IN_FLIGHT = 2;
/** Keep-alives in one call at most (a burst of thousands goes in several). */
const MAX_BATCH = 1024;
/** After a leader answered UNIMPLEMENTED, RenewBatch is tried again this much later (it may have been upgraded). */
const NO_BATCH_RETRY_MS = 60_000;

/**
 * The leader's answer for one keep-alive: the TTL (0: no such lease),
 * RENEW_AGAIN, or undefined when the leader could not answer (not the leader
 * any more, unreachable, timed out): the caller asks again.
 */
export type ForwardedRenewal = bigint | undefined;

interface Waiting {
  id: LeaseId;
  /** Monotonic ms. */
  deadline: number;
  resolve(r: ForwardedRenewal): void;
}

interface LeaderQueue {
  waiting: Waiting[];
  inFlight: number;
  flushQueued: boolean;
  /** Until then (monotonic ms) the leader gets Renew calls: it answered UNIMPLEMENTED to RenewBatch (an older build). */
  noBatchUntil: number;
}

export class RenewForwarder {
  private readonly leaders = new Map<bigint, LeaderQueue>();

  constructor(private readonly host: Pick<LeaseHost, 'callPeer' | 'logger'>) {}

  /** Renews lease `id` at `leader`; never rejects (undefined: ask again). */
  renew(leader: bigint, id: LeaseId, deadline: number): Promise<ForwardedRenewal> {
    let q = this.leaders.get(leader);
    if (q === undefined) {
      // Entries for past leaders are dropped once idle (see settle), so this stays small.
      q = { waiting: [], inFlight: 0, flushQueued: false, noBatchUntil: 0 };
      this.leaders.set(leader, q);
    }
    const queue = q;
    return new Promise<ForwardedRenewal>((resolve) => {
      queue.waiting.push({ id, deadline, resolve });
      if (!queue.flushQueued && queue.inFlight < MAX_CALLS_IN_FLIGHT) {
        queue.flushQueued = true;
        // After this turn's I/O callbacks: the keep-alives read with this one join it.
        setImmediate(() => this.flush(leader, queue));
      }
    });
  }

  private flush(leader: bigint, q: LeaderQueue): void {
    q.flushQueued = false;
    while (q.waiting.length > 0 && q.inFlight < MAX_CALLS_IN_FLIGHT) {
      const batch = q.waiting.length <= MAX_BATCH ? q.waiting : q.waiting.slice(0, MAX_BATCH);
      q.waiting = q.waiting.length <= MAX_BATCH ? [] : q.waiting.slice(MAX_BATCH);
      q.inFlight++;
      void this.send(leader, q, batch).finally(() => this.settle(leader, q));
    }
  }

  private settle(leader: bigint, q: LeaderQueue): void {
    q.inFlight--;
    if (q.waiting.length > 0) this.flush(leader, q);
    else if (q.inFlight === 0 && !q.flushQueued && this.leaders.get(leader) === q && q.noBatchUntil === 0) {
      this.leaders.delete(leader);
    }
  }

  private async send(leader: bigint, q: LeaderQueue, batch: Waiting[]): Promise<void> {
    let timeoutMs = 1;
    for (const w of batch) timeoutMs = Math.max(timeoutMs, w.deadline - monotonicClock.now());
    if (monotonicClock.now() < q.noBatchUntil) {
      await Promise.all(batch.map(async (w) => w.resolve(await this.renewOne(leader, w.id, timeoutMs))));
      return;
    }
    let results: bigint[];
    try {
      results = await this.host.callPeer(leader, RENEW_BATCH_PATH, encodeInt64s, decodeInt64s, batch.map((w) => w.id), timeoutMs);
    } catch (err) {
      if ((err as { code?: number }).code === Code.UNIMPLEMENTED) {
        q.noBatchUntil = monotonicClock.now() + NO_BATCH_RETRY_MS;
        return this.send(leader, q, batch);
      }
      this.host.logger.debug({ leader: leader.toString(16), err: (err as Error).message, leases: batch.length }, 'lease renewals to the leader failed; retrying');
      for (const w of batch) w.resolve(undefined);
      return;
    }
    if (results.length !== batch.length) {
      this.host.logger.warn({ leader: leader.toString(16), asked: batch.length, answered: results.length }, 'leader answered a different number of lease renewals; retrying');
      for (const w of batch) w.resolve(undefined);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i] === RENEW_NOT_LEADER ? undefined : results[i]);
  }

  /** One keep-alive on its own Renew call (a leader of an older build). */
  private async renewOne(leader: bigint, id: LeaseId, timeoutMs: number): Promise<ForwardedRenewal> {
    const req = keepAliveReq();
    const res = keepAliveRes();
    try {
      const r = await this.host.callPeer(leader, RENEW_PATH, (m: { ID: bigint }) => req.encode(m), (b) => res.decode(b), { ID: id }, timeoutMs);
      return r.TTL;
    } catch (err) {
      this.host.logger.debug({ leader: leader.toString(16), err: (err as Error).message }, 'lease renewal to the leader failed; retrying');
      return undefined;
    }
  }
}
