// The lessor's leader side: deadlines, renewals, expiry, promote/demote,
// checkpoints and TimeToLive, all on a fake clock.

import { describe, expect, it } from 'vitest';
import { LeaseError, RateLimiter, type LeaseId } from '../../src/lease/index.js';
import { id, k, newLessor, rng, str } from './lease-helpers.js';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof LeaseError) return e.code;
    throw e;
  }
  return 'none';
};

describe('renew', () => {
  it('is for the leader only; unknown leases are not found', () => {
    const { lessor } = newLessor();
    lessor.grant(id(1), 10);
    expect(code(() => lessor.renew(id(1)))).toBe('not-primary');
    lessor.promote(0);
    expect(code(() => lessor.renew(id(2)))).toBe('not-found');
  });

  it('restarts the full TTL from now and returns it', () => {
    const { lessor, clock } = newLessor();
    lessor.promote(0);
    lessor.grant(id(1), 10);
    clock.advance(9_000);
    expect(lessor.renew(id(1))).toBe(10);
    clock.advance(9_999);
    expect(lessor.expired(10)).toEqual([]);
    expect(lessor.timeToLive(id(1)).ttl).toBe(0);
    clock.advance(1);
    expect(lessor.expired(10)).toEqual([1n]);
  });

  it('a lease past its deadline cannot be renewed: its revoke is pending', () => {
    const { lessor, clock } = newLessor();
    lessor.promote(0);
    lessor.grant(id(1), 10);
    clock.advance(10_000);
    expect(code(() => lessor.renew(id(1)))).toBe('expired');
  });

  it('renewing ignores a checkpointed remainder, and asks for it to be cleared first', () => {
    const { lessor, clock } = newLessor();
    lessor.promote(0);
    lessor.grant(id(1), 100);
    expect(lessor.checkpointResetNeeded(id(1))).toBe(false);
    lessor.checkpoint(id(1), 30);
    expect(lessor.checkpointResetNeeded(id(1))).toBe(true);
    clock.advance(1000);
    lessor.renew(id(1));
    expect(lessor.timeToLive(id(1)).ttl).toBe(100);
    lessor.checkpoint(id(1), 0); // the reset the server proposes
    expect(lessor.checkpointResetNeeded(id(1))).toBe(false);
  });
});

describe('expired', () => {
  it('matches a naive model under random grants, renewals, revokes and time', () => {
    const rand = rng(42);
    const { lessor, clock } = newLessor();
    lessor.promote(0);
    const model = new Map<LeaseId, { ttl: number; deadline: number }>();
    let next = 1;
    for (let step = 0; step < 3000; step++) {
      const r = rand();
      if (r < 0.3) {
        const lid = id(next++);
        const ttl = 1 + Math.floor(rand() * 30);
        lessor.grant(lid, ttl);
        model.set(lid, { ttl, deadline: clock.t + ttl * 1000 });
      } else if (r < 0.6 && model.size > 0) {
        const ids = [...model.keys()];
        const lid = ids[Math.floor(rand() * ids.length)]!;
        const m = model.get(lid)!;
        if (m.deadline > clock.t) {
          expect(lessor.renew(lid)).toBe(m.ttl);
          m.deadline = clock.t + m.ttl * 1000;
        } else {
          expect(code(() => lessor.renew(lid))).toBe('expired');
        }
      } else if (r < 0.65 && model.size > 0) {
        const ids = [...model.keys()];
        const lid = ids[Math.floor(rand() * ids.length)]!;
        lessor.revoke(lid);
        model.delete(lid);
      } else {
        clock.advance(Math.floor(rand() * 2000));
        const want = [...model.entries()]
          .filter(([, m]) => m.deadline <= clock.t)
          .sort(([a, x], [b, y]) => x.deadline - y.deadline || (a < b ? -1 : 1))
          .map(([lid]) => lid);
        const got = lessor.expired(Number.MAX_SAFE_INTEGER);
        expect(got).toEqual(want);
        // The server revokes what it was told (through Raft; here directly).
        for (const lid of got) {
          lessor.revoke(lid);
          model.delete(lid);
        }
      }
    }
  });

  it('honours the limit and reports a lease again only after the retry interval', () => {
    const { lessor, clock } = newLessor({ expiredRetryMs: 5000 });
    lessor.promote(0);
    for (let i = 1; i <= 5; i++) lessor.grant(id(i), 1);
    clock.advance(1000);
    expect(lessor.expired(3)).toEqual([1n, 2n, 3n]);
    expect(lessor.expired(3)).toEqual([4n, 5n]);
    expect(lessor.expired(3)).toEqual([]);
    lessor.revoke(id(2)); // only this revoke made it through Raft
    clock.advance(4999);
    expect(lessor.expired(10)).toEqual([]);
    clock.advance(1);
    expect(lessor.expired(10)).toEqual([1n, 3n, 4n, 5n]);
  });

  it('with the rate limiter, a mass expiry goes out at the configured rate', () => {
    const { lessor, clock } = newLessor();
    const limiter = new RateLimiter(1000, clock);
    lessor.promote(0);
    for (let i = 1; i <= 2500; i++) lessor.grant(id(i), 5);
    clock.advance(5000);
    let revoked = 0;
    const perTick: number[] = [];
    while (revoked < 2500) {
      const ids = lessor.expired(limiter.available());
      limiter.take(ids.length);
      for (const lid of ids) lessor.revoke(lid);
      revoked += ids.length;
      perTick.push(ids.length);
      clock.advance(500);
    }
    expect(perTick.slice(0, 4)).toEqual([1000, 500, 500, 500]);
    expect(lessor.size).toBe(0);
  });
});

describe('promote / demote', () => {
  it('followers never expire leases', () => {
    const { lessor, clock } = newLessor();
    lessor.grant(id(1), 1);
    clock.advance(10 ** 9);
    expect(lessor.expired(10)).toEqual([]);
    expect(lessor.checkpointsDue(10)).toEqual([]);
    expect(code(() => lessor.timeToLive(id(1)))).toBe('not-primary');
  });

  it('promote gives every lease now + extend + TTL', () => {
    const { lessor, clock } = newLessor();
    lessor.grant(id(1), 10);
    lessor.grant(id(2), 20);
    clock.advance(60_000); // time spent as a follower does not count
    lessor.promote(1500);
    expect(lessor.timeToLive(id(1)).ttl).toBe(11);
    clock.advance(11_499);
    expect(lessor.expired(10)).toEqual([]);
    clock.advance(1);
    expect(lessor.expired(10)).toEqual([1n]);
    expect(lessor.leases()).toEqual([1n, 2n]);
  });

  it('a lease kept alive at the old leader never expires early at the new one', () => {
    const extend = 1000;
    for (let gap = 0; gap < 10_000; gap += 250) {
      const old = newLessor();
      const neu = newLessor();
      neu.clock.t = old.clock.t;
      old.lessor.promote(extend);
      for (const m of [old, neu]) m.lessor.grant(id(1), 10);
      for (let i = 0; i < 5; i++) {
        old.clock.advance(3000);
        old.lessor.renew(id(1));
      }
      const lastDeadline = old.clock.t + 10_000; // what the holder was promised
      old.lessor.demote();
      // Leadership moves `gap` ms after the last renewal.
      neu.clock.t = old.clock.t + gap;
      neu.lessor.promote(extend);
      neu.clock.t = lastDeadline - 1;
      expect(neu.lessor.expired(10)).toEqual([]);
      // The holder finds the new leader within an election timeout of the change.
      neu.clock.t = old.clock.t + gap + extend - 1;
      expect(neu.lessor.renew(id(1))).toBe(10);
    }
  });

  it('with checkpoints, renewals that clear the remainder first never expire early after a change', () => {
    const interval = 60_000;
    const run = (clearBeforeRenew: boolean): boolean => {
      const old = newLessor({ checkpointIntervalMs: interval });
      const neu = newLessor({ checkpointIntervalMs: interval });
      const both = [old, neu];
      old.lessor.promote(1000);
      for (const m of both) m.lessor.grant(id(1), 300);
      let promised = 0;
      let checkpointed = false;
      // The holder renews every 100 s; the leader checkpoints every minute. The
      // leader dies right after a renewal that follows a checkpoint: the
      // follower's last record of the lease is then older than the renewal.
      for (let t = 10_000; !(checkpointed && t % 100_000 === 0); t += 10_000) {
        for (const m of both) m.clock.advance(10_000);
        if (t % 100_000 === 0) {
          if (clearBeforeRenew && old.lessor.checkpointResetNeeded(id(1))) for (const m of both) m.lessor.checkpoint(id(1), 0);
          old.lessor.renew(id(1));
          promised = old.clock.t + 300_000;
          checkpointed = false;
        }
        // The leader's checkpoints go through the log: both members apply them.
        for (const c of old.lessor.checkpointsDue(10)) {
          for (const m of both) m.lessor.checkpoint(c.id, c.remainingTtl);
          checkpointed = true;
        }
      }
      if (clearBeforeRenew && old.lessor.checkpointResetNeeded(id(1))) for (const m of both) m.lessor.checkpoint(id(1), 0);
      old.lessor.renew(id(1));
      promised = old.clock.t + 300_000;
      old.lessor.demote();
      neu.lessor.promote(1000);
      neu.clock.t = promised - 1;
      return neu.lessor.expired(10).length === 0;
    };
    expect(run(true)).toBe(true);
    // Control: renewing without clearing leaves the follower counting from a stale remainder.
    expect(run(false)).toBe(false);
  });

  it('demote stops expiry and renewals until promoted again', () => {
    const { lessor, clock } = newLessor();
    lessor.promote(0);
    lessor.grant(id(1), 5);
    lessor.demote();
    clock.advance(60_000);
    expect(lessor.expired(10)).toEqual([]);
    expect(code(() => lessor.renew(id(1)))).toBe('not-primary');
    lessor.promote(0);
    expect(lessor.timeToLive(id(1)).ttl).toBe(5);
  });

  it('promote spreads a crowd of leases falling due together', () => {
    const { lessor, clock } = newLessor();
    for (let i = 1; i <= 3000; i++) lessor.grant(id(i), 60);
    lessor.promote(1000);
    const start = clock.t;
    clock.advance(60_999);
    expect(lessor.expired(Number.MAX_SAFE_INTEGER)).toEqual([]);
    let seen = 0;
    while (seen < 3000) {
      clock.advance(1000);
      const due = lessor.expired(Number.MAX_SAFE_INTEGER);
      expect(due.length).toBeLessThanOrEqual(751);
      for (const lid of due) lessor.revoke(lid);
      seen += due.length;
    }
    // 3000 leases at 750/s: the last falls due about four seconds after the first.
    expect(clock.t - start).toBeLessThan(61_000 + 5000);
  });
});

describe('checkpoints', () => {
  const interval = 60_000;

  it('a long lease is checkpointed each interval with its remaining seconds', () => {
    const { lessor, clock } = newLessor({ checkpointIntervalMs: interval });
    lessor.promote(0);
    lessor.grant(id(1), 300);
    lessor.grant(id(2), 30); // shorter than an interval: never checkpointed
    clock.advance(interval - 1);
    expect(lessor.checkpointsDue(10)).toEqual([]);
    clock.advance(1);
    expect(lessor.checkpointsDue(10)).toEqual([{ id: 1n, remainingTtl: 240 }]);
    expect(lessor.checkpointsDue(10)).toEqual([]);
    clock.advance(interval + 500);
    expect(lessor.checkpointsDue(10)).toEqual([{ id: 1n, remainingTtl: 180 }]); // 179.5 s rounds up
  });

  it('a frequently renewed lease is skipped but stays scheduled', () => {
    const { lessor, clock } = newLessor({ checkpointIntervalMs: interval });
    lessor.promote(0);
    lessor.grant(id(1), 300);
    clock.advance(interval);
    lessor.renew(id(1));
    expect(lessor.checkpointsDue(10)).toEqual([]); // full TTL left: nothing to record
    clock.advance(interval);
    expect(lessor.checkpointsDue(10)).toEqual([{ id: 1n, remainingTtl: 240 }]);
  });

  it('a promote after a checkpoint counts from the remainder, not the full TTL', () => {
    const leader = newLessor({ checkpointIntervalMs: interval });
    const follower = newLessor({ checkpointIntervalMs: interval });
    follower.clock.t = leader.clock.t;
    leader.lessor.promote(0);
    for (const m of [leader, follower]) m.lessor.grant(id(1), 600);
    leader.clock.advance(interval);
    const due = leader.lessor.checkpointsDue(10);
    expect(due).toEqual([{ id: 1n, remainingTtl: 540 }]);
    for (const m of [leader, follower]) for (const c of due) m.lessor.checkpoint(c.id, c.remainingTtl);
    // The holder is gone; the leader dies; the follower takes over.
    follower.clock.t = leader.clock.t + 2000;
    follower.lessor.promote(1000);
    expect(follower.lessor.timeToLive(id(1)).ttl).toBe(541);
    follower.clock.advance(541_000);
    expect(follower.lessor.expired(10)).toEqual([1n]);
    // Its record carries the remainder too, so a restart keeps it.
    expect(follower.storage.records.get(id(1))).toEqual(leader.storage.records.get(id(1)));
  });

  it('without a checkpoint a new leader restarts the full TTL', () => {
    const { lessor } = newLessor();
    lessor.grant(id(1), 600);
    lessor.promote(1000);
    expect(lessor.timeToLive(id(1)).ttl).toBe(601);
  });
});

describe('timeToLive', () => {
  it('truncates remaining seconds toward zero, as etcd does', () => {
    const { lessor, clock } = newLessor();
    lessor.promote(0);
    lessor.grant(id(1), 10);
    expect(lessor.timeToLive(id(1))).toEqual({ id: 1n, ttl: 10, grantedTtl: 10, keys: [] });
    clock.advance(1);
    expect(lessor.timeToLive(id(1)).ttl).toBe(9);
    clock.advance(8998);
    expect(lessor.timeToLive(id(1)).ttl).toBe(1);
    clock.advance(999);
    expect(lessor.timeToLive(id(1)).ttl).toBe(0);
    clock.advance(1500); // expired, revoke pending: -1.5 s truncates to -1
    expect(lessor.timeToLive(id(1)).ttl).toBe(-1);
    clock.advance(-1000); // -0.5 s: 0, not -0
    expect(Object.is(lessor.timeToLive(id(1)).ttl, 0)).toBe(true);
    expect(code(() => lessor.timeToLive(id(2)))).toBe('not-found');
  });

  it('lists keys only when asked, in byte order', () => {
    const { lessor } = newLessor();
    lessor.promote(0);
    lessor.grant(id(1), 10);
    lessor.attach(id(1), k('z'));
    lessor.attach(id(1), k('a'));
    expect(lessor.timeToLive(id(1)).keys).toEqual([]);
    expect(lessor.timeToLive(id(1), true).keys.map(str)).toEqual(['a', 'z']);
  });
});

describe('scale', () => {
  it('10,000 leases with renewals, checkpoints, a leader change and full expiry', () => {
    const rand = rng(1);
    const { lessor, clock } = newLessor({ checkpointIntervalMs: 10_000 });
    lessor.promote(1000);
    const n = 10_000;
    for (let i = 1; i <= n; i++) {
      lessor.grant(id(i), 5 + (i % 60));
      lessor.keyPut(k(`key/${i}`), id(i));
    }
    for (let round = 0; round < 20; round++) {
      clock.advance(1000);
      for (let j = 0; j < 500; j++) {
        const lid = id(1 + Math.floor(rand() * n));
        if (lessor.has(lid) && lessor.timeToLive(lid).ttl > 0) lessor.renew(lid);
      }
      for (const c of lessor.checkpointsDue(1000)) lessor.checkpoint(c.id, c.remainingTtl);
      for (const lid of lessor.expired(1000)) expect(lessor.revoke(lid).map(str)).toEqual([`key/${lid}`]);
    }
    lessor.demote();
    lessor.promote(1000);
    while (lessor.size > 0) {
      clock.advance(1000);
      for (const lid of lessor.expired(1000)) lessor.revoke(lid);
    }
    expect(lessor.leases()).toEqual([]);
  });
});
