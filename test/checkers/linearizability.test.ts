import { describe, expect, it } from 'vitest';
import { checkLinearizable } from './linearizability.js';
import { ModelErrors } from './model.js';
import { kv, op, randomHistory, sequential } from './fixtures.js';
import type { Operation } from './history.js';

const unknown = { kind: 'error', message: 'context deadline exceeded', definite: false } as const;

describe('checkLinearizable: valid histories pass', () => {
  it('a sequential history the model produced, with its order', () => {
    const { ops } = sequential([
      { kind: 'put', key: 'a', value: '1' },
      { kind: 'put', key: 'a', value: '2' },
      { kind: 'range', key: 'a' },
      { kind: 'range', key: 'a', revision: 2 },
      { kind: 'delete', key: 'zz' },
      { kind: 'delete', key: 'a' },
      { kind: 'range', key: 'a', end: '\0' },
    ]);
    const r = checkLinearizable(ops);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.linearization).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('concurrent writes take effect in revision order, not return order', () => {
    const ops: Operation[] = [
      op(1, 1, 0, 100, { kind: 'put', key: 'x', value: 'A' }, { kind: 'put', revision: 2 }),
      op(2, 2, 10, 20, { kind: 'put', key: 'x', value: 'B' }, { kind: 'put', revision: 3 }),
      op(3, 3, 30, 40, { kind: 'range', key: 'x' }, { kind: 'range', revision: 3, count: 1, kvs: [kv('x', 'B', 2, 3, 2)] }),
    ];
    const r = checkLinearizable(ops);
    expect(r.problems).toEqual([]);
    expect(r.linearization).toEqual([1, 2, 3]);
  });

  it('a write of unknown outcome may take effect (seen later) or never', () => {
    const took: Operation[] = [
      op(1, 1, 0, Infinity, { kind: 'put', key: 'x', value: 'A' }, unknown),
      op(2, 2, 50, 60, { kind: 'range', key: 'x' }, { kind: 'range', revision: 2, count: 1, kvs: [kv('x', 'A', 2, 2, 1)] }),
    ];
    expect(checkLinearizable(took).ok).toBe(true);
    const never: Operation[] = [
      op(1, 1, 0, Infinity, { kind: 'put', key: 'x', value: 'A' }, unknown),
      op(2, 2, 50, 60, { kind: 'range', key: 'x' }, { kind: 'range', revision: 1, count: 0, kvs: [] }),
      op(3, 2, 70, 80, { kind: 'put', key: 'y', value: 'B' }, { kind: 'put', revision: 2 }),
    ];
    expect(checkLinearizable(never).ok).toBe(true);
    // ...but not before it was called.
    const early: Operation[] = [
      op(2, 2, 0, 10, { kind: 'range', key: 'x' }, { kind: 'range', revision: 2, count: 1, kvs: [kv('x', 'A', 2, 2, 1)] }),
      op(1, 1, 20, Infinity, { kind: 'put', key: 'x', value: 'A' }, unknown),
    ];
    expect(checkLinearizable(early).ok).toBe(false);
  });

  it('leases: grant, attach, revoke deletes the keys in one revision; keep-alive', () => {
    const { ops } = sequential([
      { kind: 'leaseGrant', id: '7', ttl: 10 },
      { kind: 'put', key: 'a', value: '1', lease: '7' },
      { kind: 'put', key: 'b', value: '1', lease: '7' },
      { kind: 'leaseKeepAlive', id: '7' },
      { kind: 'leaseRevoke', id: '7' },
      { kind: 'range', key: 'a', end: '\0' },
      { kind: 'leaseKeepAlive', id: '7' },
      { kind: 'put', key: 'c', value: '1', lease: '7' },
    ]);
    expect(ops[4].response).toEqual({ kind: 'leaseRevoke', revision: 4 });
    expect(ops[5].response).toEqual({ kind: 'range', revision: 4, count: 0, kvs: [] });
    expect(ops[7].response).toEqual({ kind: 'error', message: ModelErrors.leaseNotFound, definite: true });
    expect(checkLinearizable(ops).ok).toBe(true);
  });

  it('a lease grant with a server-chosen id is checked with the id it got', () => {
    const ops: Operation[] = [
      op(1, 1, 0, 10, { kind: 'leaseGrant', id: '0', ttl: 5 }, { kind: 'leaseGrant', revision: 1, id: '694d', ttl: 5 }),
      op(2, 1, 20, 30, { kind: 'put', key: 'k', value: 'v', lease: '694d' }, { kind: 'put', revision: 2 }),
    ];
    expect(checkLinearizable(ops).ok).toBe(true);
  });

  it('txns, compaction and historic reads', () => {
    const { ops } = sequential([
      { kind: 'put', key: 'a', value: '1' },
      { kind: 'txn', compare: [{ key: 'a', target: 'value', op: '=', operand: '1' }], success: [{ kind: 'put', key: 'a', value: '2' }, { kind: 'put', key: 'b', value: '2' }, { kind: 'range', key: 'a', end: '\0' }], failure: [] },
      { kind: 'txn', compare: [{ key: 'a', target: 'version', op: '>', operand: 5 }], success: [], failure: [{ kind: 'range', key: 'b' }] },
      { kind: 'compact', revision: 2 },
      { kind: 'range', key: 'a', revision: 1 },
      { kind: 'range', key: 'a', revision: 2 },
      { kind: 'range', key: 'a', revision: 9 },
    ]);
    expect(ops[1].response).toMatchObject({ kind: 'txn', revision: 3, succeeded: true });
    expect(ops[2].response).toMatchObject({ kind: 'txn', revision: 3, succeeded: false });
    expect(ops[4].response).toMatchObject({ kind: 'error', message: ModelErrors.compacted });
    expect(ops[5].response).toEqual({ kind: 'range', revision: 3, count: 1, kvs: [kv('a', '1', 2, 2, 1)] });
    expect(ops[6].response).toMatchObject({ kind: 'error', message: ModelErrors.futureRevision });
    expect(checkLinearizable(ops).ok).toBe(true);
  });

  it('definite errors: a state error is checked, another is dropped', () => {
    const ops: Operation[] = [
      op(1, 1, 0, 10, { kind: 'put', key: 'a', value: '1', lease: '9' }, { kind: 'error', message: '5 NOT_FOUND: etcdserver: requested lease not found', definite: true }),
      op(2, 1, 20, 30, { kind: 'put', key: 'a', value: '1' }, { kind: 'error', message: 'etcdserver: too many requests', definite: true }),
      op(3, 1, 40, 50, { kind: 'range', key: 'a' }, { kind: 'range', revision: 1, count: 0, kvs: [] }),
    ];
    expect(checkLinearizable(ops).ok).toBe(true);
    const wrong = [op(1, 1, 0, 10, { kind: 'leaseGrant', id: '9', ttl: 5 }, { kind: 'error', message: ModelErrors.leaseExists, definite: true })];
    expect(checkLinearizable(wrong).ok).toBe(false);
  });

  it('serializable reads are left to checkSerializable', () => {
    const ops = [op(1, 1, 0, 10, { kind: 'range', key: 'a', serializable: true }, { kind: 'range', revision: 7, count: 0, kvs: [] })];
    expect(checkLinearizable(ops).ok).toBe(true);
  });
});

describe('checkLinearizable: violations fail', () => {
  const putA = op(1, 1, 0, 10, { kind: 'put', key: 'a', value: '1' }, { kind: 'put', revision: 2 });

  it('a lost write (a later read does not see an acknowledged put)', () => {
    const r = checkLinearizable([putA, op(2, 2, 20, 30, { kind: 'range', key: 'a' }, { kind: 'range', revision: 1, count: 0, kvs: [] })]);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toContain('not linearizable');
    expect(r.problems[0]).toContain('op #2');
    expect(r.problems[0]).toContain('the model answers {"kind":"range","revision":2');
  });

  it('a stale linearizable read', () => {
    const r = checkLinearizable([
      putA,
      op(2, 1, 20, 30, { kind: 'put', key: 'a', value: '2' }, { kind: 'put', revision: 3 }),
      op(3, 2, 40, 50, { kind: 'range', key: 'a' }, { kind: 'range', revision: 2, count: 1, kvs: [kv('a', '1', 2, 2, 1)] }),
    ]);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toContain('op #3');
  });

  it('a read of a value never written', () => {
    const r = checkLinearizable([putA, op(2, 2, 5, 30, { kind: 'range', key: 'a' }, { kind: 'range', revision: 2, count: 1, kvs: [kv('a', 'ghost', 2, 2, 1)] })]);
    expect(r.ok).toBe(false);
  });

  it('two writes with the same revision', () => {
    const r = checkLinearizable([putA, op(2, 2, 5, 30, { kind: 'put', key: 'b', value: '1' }, { kind: 'put', revision: 2 })]);
    expect(r.ok).toBe(false);
  });

  it('a wrong revision on a read-only answer', () => {
    const r = checkLinearizable([putA, op(2, 2, 20, 30, { kind: 'range', key: 'a' }, { kind: 'range', revision: 3, count: 1, kvs: [kv('a', '1', 2, 2, 1)] })]);
    expect(r.ok).toBe(false);
  });

  it('a read after compaction below the compacted revision that still answers', () => {
    const { ops } = sequential([{ kind: 'put', key: 'a', value: '1' }, { kind: 'put', key: 'a', value: '2' }, { kind: 'compact', revision: 3 }]);
    ops.push(op(9, 0, 100, 110, { kind: 'range', key: 'a', revision: 2 }, { kind: 'range', revision: 3, count: 1, kvs: [kv('a', '1', 2, 2, 1)] }));
    expect(checkLinearizable(ops).ok).toBe(false);
  });

  it('a wrong historic read', () => {
    const { ops } = sequential([{ kind: 'put', key: 'a', value: '1' }, { kind: 'put', key: 'a', value: '2' }]);
    ops.push(op(9, 0, 100, 110, { kind: 'range', key: 'a', revision: 2 }, { kind: 'range', revision: 3, count: 1, kvs: [kv('a', '2', 2, 3, 2)] }));
    expect(checkLinearizable(ops).ok).toBe(false);
  });

  it('keys of a revoked lease still readable', () => {
    const { ops } = sequential([{ kind: 'leaseGrant', id: '5', ttl: 10 }, { kind: 'put', key: 'a', value: '1', lease: '5' }, { kind: 'leaseRevoke', id: '5' }]);
    ops.push(op(9, 0, 100, 110, { kind: 'range', key: 'a' }, { kind: 'range', revision: 3, count: 1, kvs: [kv('a', '1', 2, 2, 1, '5')] }));
    expect(checkLinearizable(ops).ok).toBe(false);
  });
});

describe('checkLinearizable: budget and cost', () => {
  it('reports timedOut instead of hanging', () => {
    // Many concurrent unknown writes and a final read nobody can explain: the search must exhaust orders.
    const ops: Operation[] = [];
    for (let i = 0; i < 40; i++) ops.push(op(i, i, 0, Infinity, { kind: 'put', key: `k${i}`, value: 'v' }, unknown));
    ops.push(op(100, 100, 1, 2, { kind: 'range', key: 'zz' }, { kind: 'range', revision: 30, count: 1, kvs: [kv('zz', 'x', 1, 1, 1)] }));
    const r = checkLinearizable(ops, { maxSteps: 50_000 });
    expect(r.ok).toBe(false);
    expect(r.timedOut).toBe(true);
    expect(r.problems[0]).toContain('undecided');
  });

  it('3,000 operations of 8 clients with some unknown outcomes pass well under a second', () => {
    const { ops } = randomHistory(42, 3000, { unknownRate: 0.02, spread: 40 });
    const clients = new Set(ops.map((o) => o.client)).size;
    expect(clients).toBeGreaterThanOrEqual(3);
    const t0 = performance.now();
    const r = checkLinearizable(ops);
    const ms = performance.now() - t0;
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(ms).toBeLessThan(5000); // 50-450 ms measured on a loaded 2-core machine; the bound only catches a blow-up
  });
});
