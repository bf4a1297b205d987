// A token bucket for the leader's lease loop. Expired leases are revoked by
// proposing LeaseRevoke through Raft; etcd caps that at 1000 revokes per second
// (and checkpoints likewise) so that a mass expiry cannot crowd client writes
// out of the log. The leader loop asks how many it may propose now, passes that
// as the limit to Lessor.expired(), and takes what it actually proposed.

import type { MonotonicClock } from './types.js';

export class RateLimiter {
  private tokens: number;
  private last: number;

  /**
   * @param perSecond sustained rate
   * @param burst most that may go at once after a quiet spell (default: one
   *   second's worth)
   */
  constructor(
    private readonly perSecond: number,
    private readonly clock: MonotonicClock,
    private readonly burst = perSecond,
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError('rate limiter: rate and burst must be positive');
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Whole operations allowed now. */
  available(): number {
    this.refill();
    return Math.floor(this.tokens);
  }

  /** Records `n` operations done (at most what available() said). */
  take(n: number): void {
    this.refill();
    this.tokens = Math.max(0, this.tokens - n);
  }

  private refill(): void {
    const now = this.clock.now();
    // A monotonic clock does not step back, but an injected one might: mint nothing then.
    if (now > this.last) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
  }
}
