// The backend keyspace (src/mvcc/keyspace.ts): one byte per bucket, and the
// orderings the store relies on.
import { describe, expect, it } from 'vitest';
import { BUCKETS, bucketEnd, LEASE_PREFIX, META_CONSISTENT_INDEX, metaKey, REV_PREFIX, REVISIONS_END } from '../../src/mvcc/keyspace.js';
import { revKey } from '../../src/mvcc/revision.js';
import { leaseStorageKey } from '../../src/lease/record.js';
import type { LeaseId } from '../../src/lease/types.js';

const before = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) < 0;

describe('backend keyspace', () => {
  it('gives every bucket its own byte', () => {
    const bytes = Object.values(BUCKETS);
    expect(new Set(bytes).size).toBe(bytes.length);
    expect(String.fromCharCode(REV_PREFIX, LEASE_PREFIX)).toBe('kl');
    expect(Buffer.from(metaKey('x')).toString()).toBe('mx');
  });

  it('keeps each bucket inside [byte, byte + 1)', () => {
    const lo = Uint8Array.of(REV_PREFIX);
    for (const k of [revKey(0, 0), revKey(2 ** 53 - 1, 2 ** 53 - 1, true)]) {
      expect(before(k, lo)).toBe(false);
      expect(before(k, REVISIONS_END)).toBe(true);
    }
    const lease = leaseStorageKey(Uint8Array.of(LEASE_PREFIX), -1n as LeaseId);
    expect(before(lease, bucketEnd(LEASE_PREFIX))).toBe(true);
    expect(Buffer.compare(REVISIONS_END, lease) <= 0).toBe(true);
    expect(before(lease, META_CONSISTENT_INDEX)).toBe(true);
  });

  it('orders revision keys as revisions', () => {
    expect(before(revKey(1, 2 ** 40), revKey(2, 0))).toBe(true);
    expect(before(revKey(255, 0), revKey(256, 0))).toBe(true);
  });
});
