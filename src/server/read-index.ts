// Linearizable reads share ReadIndex rounds: one round is in flight at a time;
// every read that arrives meanwhile joins the next round, so a burst of N reads
// costs two heartbeat quorums, not N. A read may be served once this member has
// applied up to the index its round returned.

import type { ReadState } from '../raft/types.js';
import { ErrTimeout } from './errors.js';
import { Deadlines, type Deferred, deferred } from './waiters.js';

interface Round {
  ctx: string;
  waiters: Deferred<void>[];
  retry: NodeJS.Timeout;
}

export class ReadIndexer {
  private inflight: Round | undefined;
  private next: Deferred<void>[] = [];
  private seq = 0n;
  private readonly deadlines: Deadlines;

  constructor(
    private readonly requestReadIndex: (ctx: Uint8Array) => void,
    private readonly waitApplied: (index: number) => Promise<void>,
    timeoutMs: number,
    /** A round whose answer is lost (no leader yet, leader change) is asked again after this. */
    private readonly retryMs: number,
  ) {
    this.deadlines = new Deadlines(timeoutMs, ErrTimeout);
  }

  barrier(): Promise<void> {
    const d = deferred<void>();
    if (this.inflight) this.next.push(d);
    else this.startRound([d]);
    return this.deadlines.track(d);
  }

  private startRound(waiters: Deferred<void>[]): void {
    const ctxBytes = Buffer.alloc(8);
    ctxBytes.writeBigUInt64BE(++this.seq);
    const ctx = ctxBytes.toString('hex');
    const ask = (): void => {
      try {
        this.requestReadIndex(ctxBytes);
      } catch {
        // Dropped for now (no leader); the retry timer asks again.
      }
    };
    const retry = setInterval(ask, this.retryMs);
    this.inflight = { ctx, waiters, retry };
    ask();
  }

  onReadStates(states: ReadState[]): void {
    for (const s of states) {
      const round = this.inflight;
      if (!round || Buffer.from(s.requestCtx).toString('hex') !== round.ctx) continue;
      clearInterval(round.retry);
      this.inflight = undefined;
      this.waitApplied(s.index).then(
        () => round.waiters.forEach((w) => w.resolve()),
        (err: Error) => round.waiters.forEach((w) => w.reject(err)),
      );
      if (this.next.length > 0) this.startRound(this.next.splice(0));
    }
  }

  failAll(err: Error): void {
    this.deadlines.stop();
    if (this.inflight) {
      clearInterval(this.inflight.retry);
      this.inflight.waiters.forEach((w) => w.reject(err));
      this.inflight = undefined;
    }
    this.next.splice(0).forEach((w) => w.reject(err));
  }
}
