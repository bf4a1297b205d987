import { describe, expect, it } from 'vitest';
import { checkHistory } from './check-history.js';
import { checkLinearizable } from './linearizability.js';
import { withPossibleLeaseExpiry } from './lease-expiry.js';
import { revisionEvents } from './model-state.js';
import { kv, op, randomHistory } from './fixtures.js';
import type { Operation } from './history.js';

describe('withPossibleLeaseExpiry', () => {
  // The lease's key vanishes at revision 4 with no client revoking it: an expiry.
  const ops: Operation[] = [
    op(1, 1, 0, 10, { kind: 'leaseGrant', id: '7', ttl: 5 }, { kind: 'leaseGrant', revision: 1, id: '7', ttl: 5 }),
    op(2, 1, 20, 30, { kind: 'put', key: 'a', value: '1', lease: '7' }, { kind: 'put', revision: 2 }),
    op(3, 1, 40, 50, { kind: 'put', key: 'b', value: '1' }, { kind: 'put', revision: 3 }),
    op(4, 1, 1000, 1010, { kind: 'range', key: 'a', end: '\0' }, { kind: 'range', revision: 4, count: 1, kvs: [kv('b', '1', 3, 3, 1)] }),
    op(5, 1, 1020, 1030, { kind: 'leaseKeepAlive', id: '7' }, { kind: 'leaseKeepAlive', ttl: 0 }),
  ];

  it('an expired lease explains keys vanishing; without it the history fails', () => {
    expect(checkLinearizable(ops).ok).toBe(false);
    const withExpiry = withPossibleLeaseExpiry(ops, { earliestExpiry: (g) => g.return + 500 });
    expect(withExpiry).toHaveLength(6);
    expect(withExpiry[5]).toMatchObject({ id: 6, call: 510, return: Infinity, request: { kind: 'leaseRevoke', id: '7' } });
    expect(checkLinearizable(withExpiry).problems).toEqual([]);
  });

  it('but not before it could expire', () => {
    const early = [...ops.slice(0, 3), { ...ops[3], call: 60, return: 70 }];
    expect(checkLinearizable(withPossibleLeaseExpiry(early, { earliestExpiry: (g) => g.return + 500 })).ok).toBe(false);
  });
});

describe('checkHistory', () => {
  it('runs every checker and names the one that failed', () => {
    const { ops, state } = randomHistory(3, 200);
    const events = revisionEvents(state);
    const watches = [{ id: 1, client: 9, request: { key: 'a', end: '\0', startRevision: 2 }, responses: events.map((r, i) => ({ time: i, revision: r.revision, events: r.events.map((e) => ({ type: e.type, kv: e.kv })) })) }];
    const good = checkHistory({ operations: ops, watches }, events);
    expect(good.problems).toEqual([]);
    expect(good.ok).toBe(true);
    const gap = [{ ...watches[0], responses: watches[0].responses.filter((_, i) => i !== 3) }];
    const bad = checkHistory({ operations: ops, watches: gap }, events);
    expect(bad.ok).toBe(false);
    expect(bad.linearizability.ok).toBe(true);
    expect(bad.problems[0]).toMatch(/^watch: watch 1 .*: reliable: /);
  });
});
