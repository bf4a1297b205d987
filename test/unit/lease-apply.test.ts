// The lessor's apply path: what every member does, in log order.

import { describe, expect, it } from 'vitest';
import {
  ErrLeaseExistsText, ErrLeaseNotFoundText, ErrLeaseTtlTooLargeText, LeaseError, Lessor, MAX_LEASE_TTL, NO_LEASE,
  decodeLeaseRecord, encodeLeaseRecord,
} from '../../src/lease/index.js';
import { id, k, newLessor, str } from './lease-helpers.js';

const catchErr = (f: () => unknown): LeaseError => {
  try {
    f();
  } catch (e) {
    if (e instanceof LeaseError) return e;
    throw e;
  }
  throw new Error('expected a LeaseError');
};

describe('grant', () => {
  it('raises a TTL below the minimum to the minimum', () => {
    const { lessor } = newLessor({ minTtl: 5 });
    expect(lessor.grant(id(1), 2)).toEqual({ id: 1n, ttl: 5 });
    expect(lessor.grant(id(2), -7)).toEqual({ id: 2n, ttl: 5 });
    expect(lessor.grant(id(3), 60)).toEqual({ id: 3n, ttl: 60 });
    expect(lessor.lookup(id(1))!.ttl).toBe(5);
  });

  it('refuses a TTL above 9,000,000,000 s with etcd text and OutOfRange', () => {
    const { lessor } = newLessor();
    expect(lessor.grant(id(1), MAX_LEASE_TTL).ttl).toBe(MAX_LEASE_TTL);
    const e = catchErr(() => lessor.grant(id(2), MAX_LEASE_TTL + 1));
    expect([e.code, e.status, e.message]).toEqual(['ttl-too-large', 'OUT_OF_RANGE', ErrLeaseTtlTooLargeText]);
    expect(e.message).toBe('etcdserver: too large lease TTL');
    // A wire int64 far past 2^53 is also too large, not rounded into range.
    expect(catchErr(() => lessor.grant(id(3), 2n ** 62n)).code).toBe('ttl-too-large');
    expect(lessor.has(id(2))).toBe(false);
  });

  it('refuses a duplicate id with etcd text and FailedPrecondition, keeping the first', () => {
    const { lessor } = newLessor();
    lessor.grant(id(7), 10);
    const e = catchErr(() => lessor.grant(id(7), 99));
    expect([e.code, e.status, e.message]).toEqual(['exists', 'FAILED_PRECONDITION', ErrLeaseExistsText]);
    expect(e.message).toBe('etcdserver: lease already exists');
    expect(lessor.lookup(id(7))!.ttl).toBe(10);
  });

  it('refuses id 0 (the proposer picks ids) as not found', () => {
    const { lessor } = newLessor();
    expect(catchErr(() => lessor.grant(NO_LEASE, 10)).message).toBe(ErrLeaseNotFoundText);
  });

  it('persists a record per grant; ids above 2^53 stay exact', () => {
    const { lessor, storage } = newLessor();
    const big = id(2n ** 62n + 3n);
    lessor.grant(big, 30);
    expect(decodeLeaseRecord(storage.records.get(big)!)).toEqual({ id: big, ttl: 30, remainingTtl: 0 });
    expect(lessor.leases()).toEqual([big]);
  });
});

describe('revoke', () => {
  it('returns attached keys in byte order and forgets the lease and its keys', () => {
    const { lessor, storage } = newLessor();
    lessor.grant(id(1), 10);
    lessor.grant(id(2), 10);
    for (const key of ['b', 'a', 'c/1', '\u00ff', 'a\u0000']) lessor.attach(id(1), k(key));
    lessor.attach(id(2), k('other'));
    const keys = lessor.revoke(id(1));
    // Byte order: 'a' < 'a\0' < 'b' < 'c/1' < 0xc3 0xbf (UTF-8 of U+00FF).
    expect(keys.map(str)).toEqual(['a', 'a\u0000', 'b', 'c/1', '\u00ff']);
    expect(lessor.has(id(1))).toBe(false);
    expect(storage.records.has(id(1))).toBe(false);
    expect(lessor.leaseOf(k('a'))).toBe(NO_LEASE);
    expect(lessor.leaseOf(k('other'))).toBe(2n);
    const e = catchErr(() => lessor.revoke(id(1)));
    expect([e.code, e.status, e.message]).toEqual(['not-found', 'NOT_FOUND', 'etcdserver: requested lease not found']);
  });

  it('a lease without keys revokes to an empty list', () => {
    const { lessor } = newLessor();
    lessor.grant(id(3), 10);
    expect(lessor.revoke(id(3))).toEqual([]);
  });
});

describe('attach / detach', () => {
  it('attach to an unknown lease is not found', () => {
    const { lessor } = newLessor();
    expect(catchErr(() => lessor.attach(id(9), k('x'))).code).toBe('not-found');
    expect(catchErr(() => lessor.keyPut(k('x'), id(9))).code).toBe('not-found');
  });

  it('a key moves between leases and is never on two', () => {
    const { lessor } = newLessor();
    lessor.grant(id(1), 10);
    lessor.grant(id(2), 10);
    lessor.keyPut(k('k'), id(1));
    expect(lessor.leaseOf(k('k'))).toBe(1n);
    lessor.keyPut(k('k'), id(2));
    expect(lessor.leaseOf(k('k'))).toBe(2n);
    expect(lessor.lookup(id(1))!.keys).toEqual([]);
    expect(lessor.lookup(id(2))!.keys.map(str)).toEqual(['k']);
    // A put without a lease takes the key off its lease.
    lessor.keyPut(k('k'), NO_LEASE);
    expect(lessor.leaseOf(k('k'))).toBe(NO_LEASE);
    expect(lessor.lookup(id(2))!.keys).toEqual([]);
    // Revoking lease 2 now deletes nothing.
    expect(lessor.revoke(id(2))).toEqual([]);
  });

  it('keys compare by content, not by array identity', () => {
    const { lessor } = newLessor();
    lessor.grant(id(1), 10);
    lessor.attach(id(1), k('same'));
    lessor.attach(id(1), k('same'));
    const sub = new Uint8Array([0, 0x73, 0x61, 0x6d, 0x65, 0]).subarray(1, 5); // "same" inside a bigger buffer
    expect(lessor.leaseOf(sub)).toBe(1n);
    expect(lessor.lookup(id(1))!.keys.map(str)).toEqual(['same']);
  });

  it('detach only removes the key from the lease it is on; delete detaches', () => {
    const { lessor } = newLessor();
    lessor.grant(id(1), 10);
    lessor.grant(id(2), 10);
    lessor.attach(id(1), k('a'));
    lessor.attach(id(1), k('b'));
    expect(lessor.detach(id(2), k('a'))).toBe(false);
    expect(lessor.leaseOf(k('a'))).toBe(1n);
    expect(lessor.detach(id(1), k('a'))).toBe(true);
    expect(lessor.detach(id(1), k('a'))).toBe(false);
    lessor.keyDeleted(k('b'));
    lessor.keyDeleted(k('never-attached'));
    expect(lessor.revoke(id(1))).toEqual([]);
  });
});

describe('checkpoint (apply)', () => {
  it('stores the remaining TTL; unknown leases are ignored', () => {
    const { lessor, storage } = newLessor();
    lessor.grant(id(1), 600);
    expect(lessor.checkpoint(id(1), 250n)).toBe(true);
    expect(lessor.lookup(id(1))!.remainingTtl).toBe(250);
    expect(decodeLeaseRecord(storage.records.get(id(1))!)).toEqual({ id: 1n, ttl: 600, remainingTtl: 250 });
    expect(lessor.checkpoint(id(99), 5)).toBe(false);
    expect(storage.records.has(id(99))).toBe(false);
    lessor.checkpoint(id(1), 0);
    expect(decodeLeaseRecord(storage.records.get(id(1))!).remainingTtl).toBe(0);
  });
});

describe('restore', () => {
  it('rebuilds leases from records and attachments from (key, lease) pairs', () => {
    const { lessor: a, storage } = newLessor({ minTtl: 1 });
    const big = id(2n ** 60n + 1n);
    a.grant(id(1), 100);
    a.grant(big, 1);
    a.checkpoint(id(1), 40);
    const b = new Lessor({ minTtl: 3 });
    const summary = b.restore(storage.records.values(), [
      [k('x'), id(1)],
      [k('y'), big],
      [k('plain'), NO_LEASE],
      [k('lost'), id(5)],
    ]);
    expect(summary.leases).toBe(2);
    expect(summary.attachedKeys).toBe(2);
    expect(summary.orphans.map(([key, l]) => [str(key), l])).toEqual([['lost', 5n]]);
    expect(b.lookup(id(1))).toEqual({ id: 1n, ttl: 100, remainingTtl: 40, keys: [k('x')] });
    expect(b.lookup(big)!.ttl).toBe(3); // stored TTL below this member's minimum is raised
    expect(b.revoke(big).map(str)).toEqual(['y']);
    expect(b.isPrimary).toBe(false);
  });

  it('replaces whatever state there was', () => {
    const { lessor } = newLessor();
    lessor.grant(id(1), 10);
    lessor.attach(id(1), k('old'));
    lessor.restore([encodeLeaseRecord({ id: id(2), ttl: 20, remainingTtl: 0 })], []);
    expect(lessor.leases()).toEqual([2n]);
    expect(lessor.leaseOf(k('old'))).toBe(NO_LEASE);
  });

  it('two members applying the same log end with the same state and records', () => {
    const a = newLessor();
    const b = newLessor();
    b.lessor.promote(1000); // leadership must not change apply results
    b.clock.advance(12_345);
    for (const m of [a, b]) {
      const l = m.lessor;
      l.grant(id(1), 10);
      l.grant(id(2), 500);
      l.keyPut(k('a'), id(1));
      l.keyPut(k('b'), id(2));
      l.keyPut(k('a'), id(2));
      l.checkpoint(id(2), 123);
      l.revoke(id(1));
    }
    const dump = (m: typeof a) => [...m.storage.records.entries()].map(([i, r]) => [i, [...r]]);
    expect(dump(b)).toEqual(dump(a));
    expect(b.lessor.lookup(id(2))).toEqual(a.lessor.lookup(id(2)));
  });
});
