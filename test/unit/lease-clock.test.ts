// Lease deadlines run on a monotonic clock: a wall-clock step on the leader (NTP,
// a manual date change) must neither revoke a live lease nor keep a dead one.
// These cases use the clock production uses (no injected clock) and step the
// wall clock with a Date.now stub.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Lessor, RateLimiter, monotonicClock, toLeaseId } from '../../src/lease/index.js';
import { LeaseCoordinator } from '../../src/server/lease/index.js';
import { fakeLeaseHost } from './lease-helpers.js';

const HOUR = 3_600_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const realNow = Date.now.bind(Date);
/** From now on the wall clock reads `offsetMs` away from the real time. */
const stepWallClock = (offsetMs: number): void => {
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offsetMs);
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('lease deadlines ignore wall-clock steps', () => {
  it.each([
    ['forward one hour', HOUR],
    ['back one hour', -HOUR],
  ])('a live lease does not expire early when the wall clock steps %s', (_what, offset) => {
    const lessor = new Lessor({ minTtl: 1 });
    lessor.promote(0);
    lessor.grant(toLeaseId(1n), 10);
    stepWallClock(offset);
    expect(lessor.expired(10)).toEqual([]);
    expect(lessor.timeToLive(toLeaseId(1n)).ttl).toBeGreaterThanOrEqual(9);
    expect(lessor.timeToLive(toLeaseId(1n)).ttl).toBeLessThanOrEqual(10);
    expect(lessor.renew(toLeaseId(1n))).toBe(10);
    expect(lessor.expired(10)).toEqual([]);
  });

  it.each([
    ['back one hour', -HOUR],
    ['forward one hour', HOUR],
  ])('a dead lease expires on time when the wall clock steps %s', async (_what, offset) => {
    const lessor = new Lessor({ minTtl: 1 });
    lessor.promote(0);
    lessor.grant(toLeaseId(1n), 1);
    stepWallClock(offset);
    await sleep(1_100);
    expect(lessor.expired(10)).toEqual([toLeaseId(1n)]);
  });

  it('the revoke rate limiter neither stalls nor bursts when the wall clock steps', async () => {
    const limiter = new RateLimiter(1000, monotonicClock);
    limiter.take(limiter.available());
    stepWallClock(-HOUR);
    await sleep(50);
    // Refilled by elapsed monotonic time, not frozen by the step back.
    expect(limiter.available()).toBeGreaterThan(0);
    stepWallClock(HOUR);
    // A step forward mints no extra tokens.
    expect(limiter.available()).toBeLessThan(200);
  });

  it('a forwarded request gives up after the request timeout even while the wall clock stands still', async () => {
    const frozen = realNow();
    vi.spyOn(Date, 'now').mockImplementation(() => frozen);
    const host = fakeLeaseHost({ requestTimeoutMs: 100, isLeader: () => false, leader: () => 0n });
    const coord = new LeaseCoordinator(host, () => new Lessor());
    const t0 = performance.now();
    const outcome = await Promise.race([coord.renew(5n).catch((e: Error) => e.message), sleep(1_000).then(() => 'still waiting after 1 s')]);
    expect(outcome).toBe('etcdserver: no leader');
    expect(performance.now() - t0).toBeLessThan(900);
  });
});
