import { describe, expect, it } from 'vitest';
import { LeaseQueue } from '../../src/lease/lease-queue.js';
import { spreadDeadlines } from '../../src/lease/spread.js';
import {
  RateLimiter, decodeLeaseRecord, encodeLeaseRecord, formatLeaseId, leaseIdFromRequestId, leaseIdFromStorageKey,
  leaseStorageKey, minLeaseTtl, rawLeaseStorage, toLeaseId, type LeaseId,
} from '../../src/lease/index.js';
import { FakeClock, id, rng } from './lease-helpers.js';

describe('lease ids', () => {
  it('ids above 2^53 and negative ids are exact bigints', () => {
    const big = 2n ** 62n + 12345n;
    expect(toLeaseId(big)).toBe(big);
    expect(toLeaseId(-(2n ** 63n))).toBe(-(2n ** 63n));
    expect(() => toLeaseId(2n ** 63n)).toThrow(RangeError);
    expect(() => toLeaseId(-(2n ** 63n) - 1n)).toThrow(RangeError);
  });

  it('prints like Go %016x on an int64 (etcdctl)', () => {
    expect(formatLeaseId(id(0x694d77b1c4a0c80an))).toBe('694d77b1c4a0c80a');
    expect(formatLeaseId(id(255))).toBe('00000000000000ff');
    expect(formatLeaseId(id(-1))).toBe('-000000000000001');
    expect(formatLeaseId(id(-(2n ** 63n)))).toBe('-8000000000000000');
  });

  it('a generated id keeps 63 bits, so it is positive', () => {
    expect(leaseIdFromRequestId(0xffff_ffff_ffff_ffffn)).toBe(2n ** 63n - 1n);
    expect(leaseIdFromRequestId(0x8000_0000_0000_0005n)).toBe(5n);
    expect(leaseIdFromRequestId(0x8000_0000_0000_0000n)).toBe(0n); // caller must draw again
  });

  it('min TTL is 1.5 election timeouts in whole seconds, with etcd integer tick maths', () => {
    expect(minLeaseTtl(10, 100)).toBe(2); // 15 ticks * 100 ms = 1.5 s -> 2
    expect(minLeaseTtl(11, 100)).toBe(2); // 33/2 = 16 ticks -> 1.6 s -> 2
    expect(minLeaseTtl(20, 100)).toBe(3);
    expect(minLeaseTtl(10, 50)).toBe(1);
  });
});

describe('lease record', () => {
  it('encodes leasepb.Lease {ID=1, TTL=2, RemainingTTL=3} as protobuf varints', () => {
    // 08 96 01 = field 1 varint 150; 10 0a = field 2 varint 10; 18 03 = field 3 varint 3.
    expect([...encodeLeaseRecord({ id: id(150), ttl: 10, remainingTtl: 3 })]).toEqual([0x08, 0x96, 0x01, 0x10, 0x0a, 0x18, 0x03]);
    // proto3 omits zero fields.
    expect([...encodeLeaseRecord({ id: id(1), ttl: 5, remainingTtl: 0 })]).toEqual([0x08, 0x01, 0x10, 0x05]);
  });

  it('round-trips large and negative ids exactly', () => {
    for (const v of [2n ** 63n - 1n, 2n ** 53n + 1n, -1n, -(2n ** 63n), 7n]) {
      const rec = { id: id(v), ttl: 9_000_000_000, remainingTtl: 42 };
      expect(decodeLeaseRecord(encodeLeaseRecord(rec))).toEqual(rec);
    }
  });

  it('skips unknown fields', () => {
    const rec = encodeLeaseRecord({ id: id(9), ttl: 60, remainingTtl: 0 });
    const extra = new Uint8Array([...rec, 0x22, 0x02, 0x61, 0x62]); // field 4, bytes "ab"
    expect(decodeLeaseRecord(extra)).toEqual({ id: 9n, ttl: 60, remainingTtl: 0 });
  });

  it('storage keys are prefix + big-endian id, and parse back', () => {
    const prefix = new TextEncoder().encode('lease/');
    const key = leaseStorageKey(prefix, id(0x0102030405060708n));
    expect([...key.subarray(6)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(leaseIdFromStorageKey(prefix, key)).toBe(0x0102030405060708n);
    expect(leaseIdFromStorageKey(prefix, leaseStorageKey(prefix, id(-2)))).toBe(-2n);
    expect(leaseIdFromStorageKey(prefix, new TextEncoder().encode('lease/x'))).toBeUndefined();
    expect(leaseIdFromStorageKey(prefix, new TextEncoder().encode('other/12345678'))).toBeUndefined();
  });

  it('rawLeaseStorage stages puts and deletes under the prefix', () => {
    const staged: Array<[number[], Uint8Array | null]> = [];
    const s = rawLeaseStorage({ prefix: new Uint8Array([0x6c]), stage: (key, value) => staged.push([[...key], value]) });
    s.put(id(1), new Uint8Array([9]));
    s.delete(id(1));
    expect(staged).toEqual([[[0x6c, 0, 0, 0, 0, 0, 0, 0, 1], new Uint8Array([9])], [[0x6c, 0, 0, 0, 0, 0, 0, 0, 1], null]]);
  });
});

describe('LeaseQueue', () => {
  it('matches a naive model under random set/remove/pop', () => {
    const rand = rng(7);
    const q = new LeaseQueue();
    const model = new Map<LeaseId, number>();
    const naiveMin = (): [LeaseId, number] | undefined => {
      let best: [LeaseId, number] | undefined;
      for (const [i, t] of model) if (!best || t < best[1] || (t === best[1] && i < best[0])) best = [i, t];
      return best;
    };
    for (let step = 0; step < 20_000; step++) {
      const r = rand();
      const lid = id(Math.floor(rand() * 300));
      if (r < 0.55) {
        const t = Math.floor(rand() * 1000);
        q.set(lid, t);
        model.set(lid, t);
      } else if (r < 0.75) {
        expect(q.remove(lid)).toBe(model.delete(lid));
      } else {
        const want = naiveMin();
        const got = q.pop();
        expect(got && [got.id, got.time]).toEqual(want);
        if (want) model.delete(want[0]);
      }
      expect(q.size).toBe(model.size);
    }
  });

  it('ties on time come out by id, whatever the insertion order', () => {
    const q = new LeaseQueue();
    for (const n of [5, 3, 9, 1]) q.set(id(n), 100);
    const out: bigint[] = [];
    for (let it = q.pop(); it; it = q.pop()) out.push(it.id);
    expect(out).toEqual([1n, 3n, 5n, 9n]);
  });
});

describe('spreadDeadlines', () => {
  it('leaves a small crowd alone', () => {
    const ls = Array.from({ length: 750 }, (_, i) => ({ id: id(i + 1), deadline: 5000 }));
    expect(spreadDeadlines(ls, 750)).toEqual([]);
  });

  it('spreads a crowd so at most perSecond fall due in any second, never earlier', () => {
    const perSecond = 750;
    const ls = Array.from({ length: 5000 }, (_, i) => ({ id: id(i + 1), deadline: 10_000 + (i % 7) }));
    const moved = new Map(spreadDeadlines(ls, perSecond).map((m) => [m.id, m.deadline]));
    const final = ls.map((l) => moved.get(l.id) ?? l.deadline);
    ls.forEach((l, i) => expect(final[i]!).toBeGreaterThanOrEqual(l.deadline));
    final.sort((a, b) => a - b);
    // Sliding one-second window: i-th and (i+perSecond+1)-th deadlines are at least 1 s apart.
    for (let i = 0; i + perSecond + 1 < final.length; i++) expect(final[i + perSecond + 1]! - final[i]!).toBeGreaterThanOrEqual(1000);
    // And not spread more than needed: 5000 leases need about 5000/750 s.
    expect(final[final.length - 1]! - final[0]!).toBeLessThan(7000);
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then the sustained rate', () => {
    const clock = new FakeClock(0);
    const rl = new RateLimiter(1000, clock);
    expect(rl.available()).toBe(1000);
    rl.take(1000);
    expect(rl.available()).toBe(0);
    clock.advance(500);
    expect(rl.available()).toBe(500);
    rl.take(200);
    clock.advance(10_000);
    expect(rl.available()).toBe(1000); // capped at the burst
  });

  it('a clock stepping back mints nothing', () => {
    const clock = new FakeClock(10_000);
    const rl = new RateLimiter(10, clock, 10);
    rl.take(10);
    clock.t = 0;
    expect(rl.available()).toBe(0);
    clock.t = 100;
    expect(rl.available()).toBe(1);
  });
});
