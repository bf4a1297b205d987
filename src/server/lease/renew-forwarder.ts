// A follower's keep-alives on their way to the leader: batched, over one
// long-lived stream per leader.
//
// Every keep-alive a follower receives must be answered by the leader. One
// peer call per keep-alive (etcd makes one HTTP request per keep-alive) costs
// both members a new HTTP/2 stream, its headers and metadata, and a round of
// grpc-js call objects: most of the follower's CPU under keep-alive load, and a
// good part of the leader's. Instead the keep-alives that arrive while the
// event loop is busy go out together as one message on a RenewStream to the
// leader, at most MAX_BATCHES_IN_FLIGHT unanswered per leader; what arrives
// meanwhile waits and joins the next message, so a batch is sized by what is
// waiting, not by a timer. Each message carries a sequence number, and so does
// its answer. A stream left idle is closed; a broken one fails what it carried
// (the caller asks again) and is opened afresh on the next keep-alive. A leader
// of an older build (UNIMPLEMENTED) gets one Renew call per keep-alive.

import { Code } from '../errors.js';
import { monotonicClock, type LeaseId } from '../../lease/index.js';
import type { LeaseHost, PeerStream } from './host.js';
import {
  decodeInt64s, encodeInt64s, keepAliveReq, keepAliveRes, RENEW_NOT_LEADER, RENEW_PATH, RENEW_STREAM_PATH,
} from './peer-protocol.js';

/** Batches sent to one leader and not answered yet; more keep-alives wait for the next batch. */
const MAX_BATCHES_IN_FLIGHT = 2;
/** Keep-alives in one batch at most (a burst of thousands goes in several). */
const MAX_BATCH = 1024;
/** A stream with nothing in flight for this long is closed (the leader may have changed). */
const IDLE_CLOSE_MS = 10_000;
/** After a leader answered UNIMPLEMENTED, RenewStream is tried again this much later (it may have been upgraded). */
const NO_STREAM_RETRY_MS = 60_000;

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

interface Sent {
  batch: Waiting[];
  timer: NodeJS.Timeout;
}

interface LeaderQueue {
  readonly leader: bigint;
  waiting: Waiting[];
  flushQueued: boolean;
  stream: PeerStream<bigint[], bigint[]> | undefined;
  /** Batches on the stream, by sequence number. */
  sent: Map<bigint, Sent>;
  /** Batches on Renew calls (a leader of an older build). */
  calls: number;
  nextSeq: bigint;
  idleTimer: NodeJS.Timeout | undefined;
  /** Until then (monotonic ms) the leader gets Renew calls: it answered UNIMPLEMENTED (an older build). */
  noStreamUntil: number;
}

export class RenewForwarder {
  private readonly leaders = new Map<bigint, LeaderQueue>();

  constructor(private readonly host: Pick<LeaseHost, 'callPeer' | 'openPeerStream' | 'logger'>) {}

  /** Renews lease `id` at `leader`; never rejects (undefined: ask again). */
  renew(leader: bigint, id: LeaseId, deadline: number): Promise<ForwardedRenewal> {
    let q = this.leaders.get(leader);
    if (q === undefined) {
      q = { leader, waiting: [], flushQueued: false, stream: undefined, sent: new Map(), calls: 0, nextSeq: 1n, idleTimer: undefined, noStreamUntil: 0 };
      this.leaders.set(leader, q);
    }
    const queue = q;
    return new Promise<ForwardedRenewal>((resolve) => {
      queue.waiting.push({ id, deadline, resolve });
      if (!queue.flushQueued && this.inFlight(queue) < MAX_BATCHES_IN_FLIGHT) {
        queue.flushQueued = true;
        // After this turn's I/O callbacks: the keep-alives read with this one join it.
        setImmediate(() => this.flush(queue));
      }
    });
  }

  private inFlight(q: LeaderQueue): number {
    return q.sent.size + q.calls;
  }

  private flush(q: LeaderQueue): void {
    q.flushQueued = false;
    while (q.waiting.length > 0 && this.inFlight(q) < MAX_BATCHES_IN_FLIGHT) {
      const batch = q.waiting.length <= MAX_BATCH ? q.waiting : q.waiting.slice(0, MAX_BATCH);
      q.waiting = q.waiting.length <= MAX_BATCH ? [] : q.waiting.slice(MAX_BATCH);
      if (monotonicClock.now() < q.noStreamUntil) this.sendAsCalls(q, batch);
      else this.sendOnStream(q, batch);
    }
    this.maybeIdle(q);
  }

  /** A batch answered (or failed): the next one may go. */
  private settled(q: LeaderQueue): void {
    if (q.waiting.length > 0) this.flush(q);
    else this.maybeIdle(q);
  }

  private maybeIdle(q: LeaderQueue): void {
    if (this.inFlight(q) > 0 || q.waiting.length > 0 || q.flushQueued) return;
    clearTimeout(q.idleTimer);
    q.idleTimer = setTimeout(() => {
      if (this.inFlight(q) > 0 || q.waiting.length > 0 || q.flushQueued) return;
      this.dropStream(q);
      if (this.leaders.get(q.leader) === q && q.noStreamUntil === 0) this.leaders.delete(q.leader);
    }, IDLE_CLOSE_MS);
    q.idleTimer.unref();
  }

  private sendOnStream(q: LeaderQueue, batch: Waiting[]): void {
    clearTimeout(q.idleTimer);
    let stream = q.stream;
    if (stream === undefined) {
      try {
        stream = this.openStream(q);
      } catch (err) {
        this.host.logger.debug({ leader: q.leader.toString(16), err: (err as Error).message }, 'lease renewals to the leader failed; retrying');
        for (const w of batch) w.resolve(undefined);
        return;
      }
    }
    const seq = q.nextSeq++;
    let timeoutMs = 1;
    for (const w of batch) timeoutMs = Math.max(timeoutMs, w.deadline - monotonicClock.now());
    // No answer in time: the stream is taken for broken; what it carried is asked again.
    const timer = setTimeout(() => this.failStream(q, stream, 'no answer from the leader in time'), timeoutMs);
    timer.unref();
    q.sent.set(seq, { batch, timer });
    const msg = new Array<bigint>(batch.length + 1);
    msg[0] = seq;
    for (let i = 0; i < batch.length; i++) msg[i + 1] = batch[i]!.id;
    stream.write(msg);
  }

  private openStream(q: LeaderQueue): PeerStream<bigint[], bigint[]> {
    const stream = this.host.openPeerStream(q.leader, RENEW_STREAM_PATH, encodeInt64s, decodeInt64s);
    q.stream = stream;
    stream.on('data', (res: bigint[]) => this.answered(q, res));
    stream.on('error', (err: Error & { code?: number }) => {
      if (err.code === Code.UNIMPLEMENTED && q.stream === stream) {
        q.noStreamUntil = monotonicClock.now() + NO_STREAM_RETRY_MS;
        // Ask the older leader the old way, at once.
        const batches = [...q.sent.values()];
        q.sent.clear();
        q.stream = undefined;
        for (const s of batches) {
          clearTimeout(s.timer);
          this.sendAsCalls(q, s.batch);
        }
        return;
      }
      this.failStream(q, stream, err.message);
    });
    stream.on('end', () => this.failStream(q, stream, 'the leader ended the stream'));
    return stream;
  }

  private answered(q: LeaderQueue, res: bigint[]): void {
    const s = res.length > 0 ? q.sent.get(res[0]!) : undefined;
    if (s === undefined) return; // timed out meanwhile
    q.sent.delete(res[0]!);
    clearTimeout(s.timer);
    const { batch } = s;
    if (res.length !== batch.length + 1) {
      this.host.logger.warn({ leader: q.leader.toString(16), asked: batch.length, answered: res.length - 1 }, 'leader answered a different number of lease renewals; retrying');
      for (const w of batch) w.resolve(undefined);
    } else {
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(res[i + 1] === RENEW_NOT_LEADER ? undefined : res[i + 1]);
    }
    this.settled(q);
  }

  /** The stream broke (or stopped answering): what it carried is asked again, on a new stream. */
  private failStream(q: LeaderQueue, stream: PeerStream<bigint[], bigint[]>, why: string): void {
    if (q.stream !== stream) return;
    this.host.logger.debug({ leader: q.leader.toString(16), err: why, batches: q.sent.size }, 'lease renewals to the leader failed; retrying');
    this.dropStream(q);
    const batches = [...q.sent.values()];
    q.sent.clear();
    for (const s of batches) {
      clearTimeout(s.timer);
      for (const w of s.batch) w.resolve(undefined);
    }
    this.settled(q);
  }

  private dropStream(q: LeaderQueue): void {
    clearTimeout(q.idleTimer);
    const stream = q.stream;
    q.stream = undefined;
    stream?.cancel();
  }

  /** A batch as one Renew call per keep-alive (a leader of an older build). */
  private sendAsCalls(q: LeaderQueue, batch: Waiting[]): void {
    q.calls++;
    void Promise.all(batch.map(async (w) => w.resolve(await this.renewOne(q.leader, w)))).finally(() => {
      q.calls--;
      this.settled(q);
    });
  }

  private async renewOne(leader: bigint, w: Waiting): Promise<ForwardedRenewal> {
    const req = keepAliveReq();
    const res = keepAliveRes();
    try {
      const timeoutMs = Math.max(1, w.deadline - monotonicClock.now());
      const r = await this.host.callPeer(leader, RENEW_PATH, (m: { ID: bigint }) => req.encode(m), (b) => res.decode(b), { ID: w.id }, timeoutMs);
      return r.TTL;
    } catch (err) {
      this.host.logger.debug({ leader: leader.toString(16), err: (err as Error).message }, 'lease renewal to the leader failed; retrying');
      return undefined;
    }
  }
}
