// Unknown lease revokes dropped only when they cannot have changed anything: a
// known revoke of the same lease succeeded and the lease had a single grant.

import { describe, expect, it } from 'vitest';
import type { Operation } from './history.js';
import { checkLinearizable } from './index.js';
import { dropRedundantLeaseRevokes } from './resolve-lease-revokes.js';

const lost = { kind: 'error', message: 'client timeout', definite: false } as const;
const grant = (id: number, client: number, call: number, ret: number, lease: string): Operation => ({
  id, client, call, return: ret, request: { kind: 'leaseGrant', ttl: 10, id: lease }, response: { kind: 'leaseGrant', revision: 1, id: lease, ttl: 10 },
});
const revoke = (id: number, client: number, call: number, ret: number, lease: string, known: boolean): Operation => ({
  id, client, call, return: known ? ret : Infinity, request: { kind: 'leaseRevoke', id: lease }, response: known ? { kind: 'leaseRevoke', revision: 1 } : lost,
});

describe('dropRedundantLeaseRevokes', () => {
  it('drops an unknown revoke of a single-grant lease that a known revoke later revoked', () => {
    const ops = [grant(0, 0, 0, 1, '5'), revoke(1, 1, 2, 0, '5', false), revoke(2, 2, 10, 11, '5', true)];
    const r = dropRedundantLeaseRevokes(ops);
    expect(r.dropped).toBe(1);
    expect(r.operations.map((o) => o.id)).toEqual([0, 2]);
    expect(checkLinearizable(r.operations).ok).toBe(true);
  });

  it('keeps it when no known revoke of that lease succeeded', () => {
    const ops = [grant(0, 0, 0, 1, '5'), revoke(1, 1, 2, 0, '5', false)];
    expect(dropRedundantLeaseRevokes(ops).dropped).toBe(0);
  });

  it('keeps it when a second grant of the lease may have succeeded (it could have revoked the first incarnation)', () => {
    const secondGrant: Operation = { ...grant(3, 3, 4, 0, '5'), return: Infinity, response: lost };
    const ops = [grant(0, 0, 0, 1, '5'), revoke(1, 1, 2, 0, '5', false), secondGrant, revoke(2, 2, 10, 11, '5', true)];
    expect(dropRedundantLeaseRevokes(ops).dropped).toBe(0);
  });

  it('counts a grant that failed definitely as no grant', () => {
    const refused: Operation = { ...grant(3, 3, 4, 5, '5'), response: { kind: 'error', message: 'etcdserver: lease already exists', definite: true } };
    const ops = [grant(0, 0, 0, 1, '5'), revoke(1, 1, 2, 0, '5', false), refused, revoke(2, 2, 10, 11, '5', true)];
    expect(dropRedundantLeaseRevokes(ops).dropped).toBe(1);
  });

  it('keeps every unknown revoke while a server-chosen grant has no answer (it may have made any id)', () => {
    const anyId: Operation = { ...grant(3, 3, 4, 0, '0'), return: Infinity, response: lost };
    const ops = [grant(0, 0, 0, 1, '5'), revoke(1, 1, 2, 0, '5', false), anyId, revoke(2, 2, 10, 11, '5', true)];
    expect(dropRedundantLeaseRevokes(ops).dropped).toBe(0);
  });

  it('never turns a violation into a pass: a known revoke that failed with "not found" after the drop still fails', () => {
    // The known revoke succeeded, but a keep-alive between grant and revoke says the lease was gone: not linearizable either way.
    const keepAlive: Operation = { id: 4, client: 4, call: 5, return: 6, request: { kind: 'leaseKeepAlive', id: '5' }, response: { kind: 'leaseKeepAlive', ttl: 0 } };
    const ops = [grant(0, 0, 0, 1, '5'), revoke(1, 1, 2, 0, '5', false), keepAlive, revoke(2, 2, 10, 11, '5', true)];
    const r = dropRedundantLeaseRevokes(ops);
    expect(r.dropped).toBe(1);
    expect(checkLinearizable(r.operations).ok).toBe(false);
  });
});
