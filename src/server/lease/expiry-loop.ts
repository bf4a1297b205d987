// The leader's lease loop. Only the leader keeps deadlines: every 500 ms it
// proposes revokes for expired leases (at most 1000 a second, as etcd, and 16 in
// flight) and one entry carrying the due checkpoints of long leases' remaining
// TTL. The rate limit, like the lessor's deadlines, runs on the monotonic clock.

import { type Lessor, monotonicClock, RateLimiter } from '../../lease/index.js';
import { Code, EtcdError } from '../errors.js';
import { SERVER_AS_ROOT } from '../../auth/index.js';
import type { LeaseHost } from './host.js';

const TICK_MS = 500;
/** Revokes in flight at once (etcd: 16); the rest wait for the next tick. */
const MAX_REVOKES_IN_FLIGHT = 16;
const MAX_CHECKPOINTS_PER_ENTRY = 1000;

export class LeaseExpiryLoop {
  private timer: NodeJS.Timeout | undefined;
  private readonly revokeLimiter = new RateLimiter(1000, monotonicClock);
  private revokesInFlight = 0;
  private checkpointInFlight = false;

  constructor(
    private readonly host: Pick<LeaseHost, 'logger' | 'isLeader' | 'propose'>,
    private readonly lessorRef: () => Lessor,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (!this.host.isLeader()) return;
    const lessor = this.lessorRef();
    if (!lessor.isPrimary) return;
    const room = Math.min(this.revokeLimiter.available(), MAX_REVOKES_IN_FLIGHT - this.revokesInFlight);
    if (room > 0) {
      const ids = lessor.expired(room);
      this.revokeLimiter.take(ids.length);
      for (const id of ids) {
        this.revokesInFlight++;
        this.host.logger.info({ lease: id.toString(16) }, 'lease expired; proposing revoke');
        this.host
          // The member's own expiry acts as root (etcd's WithRoot): it must pass the apply-time auth check.
          .propose({ leaseRevoke: { ID: id } }, SERVER_AS_ROOT)
          .catch((err: Error) => {
            // Already gone (revoked meanwhile) is fine; anything else is retried by expired().
            if (!(err instanceof EtcdError && err.code === Code.NOT_FOUND)) {
              this.host.logger.warn({ lease: id.toString(16), err: err.message }, 'failed to revoke expired lease');
            }
          })
          .finally(() => this.revokesInFlight--);
      }
    }
    if (!this.checkpointInFlight) {
      const due = lessor.checkpointsDue(MAX_CHECKPOINTS_PER_ENTRY);
      if (due.length > 0) {
        this.checkpointInFlight = true;
        this.host
          .propose({ leaseCheckpoint: { checkpoints: due.map((c) => ({ ID: c.id, remainingTTL: BigInt(c.remainingTtl) })) } })
          .catch((err: Error) => this.host.logger.warn({ err: err.message, leases: due.length }, 'failed to checkpoint leases'))
          .finally(() => (this.checkpointInFlight = false));
      }
    }
  }
}
