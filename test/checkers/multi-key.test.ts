// The simulation's large writes, through the checkers: multi-key txns (a dozen
// puts at one revision), prefix deletes (alone, and with a put in one txn), and
// the same writes with unknown outcome resolved from the event log. Each shape
// has a history that must pass and one that must fail.

import { describe, expect, it } from 'vitest';
import type { Operation, Request, RevisionEvents, TxnOp, WatchEvent } from './history.js';
import { checkLinearizable } from './index.js';
import { kv, op, sequential } from './fixtures.js';
import { resolveUnknownWrites } from './resolve-unknown.js';

const lost = { kind: 'error', message: 'member crashed', definite: false } as const;
const family = (n: number): string[] => Array.from({ length: n }, (_, i) => `p/${String(i).padStart(2, '0')}`);
const multiPut = (keys: string[], value: string): Request => ({
  kind: 'txn', compare: [], success: keys.map((key): TxnOp => ({ kind: 'put', key, value })), failure: [{ kind: 'range', key: 'p/', end: 'p0' }],
});
const prefixDelete: Request = { kind: 'delete', key: 'p/', end: 'p0' };
const tomb = (key: string, rev: number): WatchEvent => ({ type: 'delete', kv: { key, value: '', createRevision: 0, modRevision: rev, version: 0, lease: '0' } });
const putEv = (key: string, value: string, create: number, rev: number, version: number): WatchEvent => ({ type: 'put', kv: kv(key, value, create, rev, version) });

describe('the model on multi-key writes', () => {
  it('a multi-key txn writes every key at one revision; a prefix delete removes them all in key order at the next', () => {
    const { ops, state } = sequential([
      multiPut(family(12), 'a'),
      multiPut(family(3), 'b'),
      { kind: 'range', key: 'p/', end: 'p0' },
      prefixDelete,
      { kind: 'txn', compare: [], success: [{ kind: 'delete', key: 'p/', end: 'p0' }, { kind: 'put', key: 'k0', value: 'c' }], failure: [] },
    ]);
    expect(ops[0]!.response).toEqual({ kind: 'txn', revision: 2, succeeded: true, results: family(12).map(() => ({ kind: 'put' })) });
    const read = ops[2]!.response as Extract<Operation['response'], { kind: 'range' }>;
    expect(read.count).toBe(12);
    expect(read.kvs[0]).toEqual(kv('p/00', 'b', 2, 3, 2));
    expect(read.kvs[11]).toEqual(kv('p/11', 'a', 2, 2, 1));
    expect(ops[3]!.response).toEqual({ kind: 'delete', revision: 4, deleted: 12 });
    // Nothing left to delete: the txn's revision holds only its put.
    expect(ops[4]!.response).toEqual({ kind: 'txn', revision: 5, succeeded: true, results: [{ kind: 'delete', deleted: 0 }, { kind: 'put' }] });
    expect(state.revision).toBe(5);
    expect(checkLinearizable(ops).ok).toBe(true);
  });

  it('fails a read that sees half of a multi-key txn (one revision is atomic)', () => {
    const ops: Operation[] = [
      op(1, 1, 0, 10, multiPut(['p/00', 'p/01'], 'a'), { kind: 'txn', revision: 2, succeeded: true, results: [{ kind: 'put' }, { kind: 'put' }] }),
      op(2, 2, 20, 30, { kind: 'range', key: 'p/', end: 'p0' }, { kind: 'range', revision: 2, count: 1, kvs: [kv('p/00', 'a', 2, 2, 1)] }),
    ];
    expect(checkLinearizable(ops).ok).toBe(false);
  });

  it('fails a read after a prefix delete that still finds a key of the prefix', () => {
    const ops: Operation[] = [
      op(1, 1, 0, 10, multiPut(['p/00', 'p/01'], 'a'), { kind: 'txn', revision: 2, succeeded: true, results: [{ kind: 'put' }, { kind: 'put' }] }),
      op(2, 1, 20, 30, prefixDelete, { kind: 'delete', revision: 3, deleted: 2 }),
      op(3, 2, 40, 50, { kind: 'range', key: 'p/', end: 'p0' }, { kind: 'range', revision: 3, count: 1, kvs: [kv('p/01', 'a', 2, 2, 1)] }),
    ];
    expect(checkLinearizable(ops).ok).toBe(false);
  });
});

describe('unknown outcomes of multi-key writes', () => {
  const log: RevisionEvents[] = [
    { revision: 2, events: [putEv('p/00', 'a', 2, 2, 1), putEv('p/01', 'a', 2, 2, 1), putEv('p/02', 'a', 2, 2, 1)] },
    { revision: 3, events: [tomb('p/00', 3), tomb('p/01', 3), tomb('p/02', 3), putEv('k0', 'c', 3, 3, 1)] },
  ];

  it('resolves a multi-key txn and a prefix-delete txn from the log, with the delete count the log implies', () => {
    const ops: Operation[] = [
      op(1, 1, 0, Infinity, multiPut(['p/00', 'p/01', 'p/02'], 'a'), lost),
      op(2, 2, 5, Infinity, { kind: 'txn', compare: [], success: [{ kind: 'delete', key: 'p/', end: 'p0' }, { kind: 'put', key: 'k0', value: 'c' }], failure: [] }, lost),
    ];
    const p = resolveUnknownWrites(ops, log, [], 100);
    expect(p).toMatchObject({ resolved: 2, dropped: 0 });
    expect(p.operations[0]!.response).toEqual({ kind: 'txn', revision: 2, succeeded: true, results: [{ kind: 'put' }, { kind: 'put' }, { kind: 'put' }] });
    expect(p.operations[1]!.response).toEqual({ kind: 'txn', revision: 3, succeeded: true, results: [{ kind: 'delete', deleted: 3 }, { kind: 'put' }] });
    expect(checkLinearizable(p.operations).ok).toBe(true);
  });

  it('keeps an unknown prefix delete that a delete-only revision may be, and drops one that none can be', () => {
    const onlyDeletes: RevisionEvents[] = [log[0]!, { revision: 3, events: [tomb('p/00', 3), tomb('p/01', 3), tomb('p/02', 3)] }];
    const del = op(1, 1, 10, Infinity, prefixDelete, lost);
    expect(resolveUnknownWrites([del], onlyDeletes, [], 100)).toMatchObject({ dropped: 0, operations: [del] });
    // A delete of other keys (or of only part of the range) is not this delete.
    const other: RevisionEvents[] = [log[0]!, { revision: 3, events: [tomb('k1', 3)] }];
    expect(resolveUnknownWrites([del], other, [], 100)).toMatchObject({ dropped: 1, operations: [] });
    expect(resolveUnknownWrites([del], log, [], 100)).toMatchObject({ dropped: 1, operations: [] });
  });

  it('fails a read that saw a prefix delete the log does not have (the unknown delete cannot explain it away)', () => {
    const ops: Operation[] = [
      op(1, 1, 0, 10, multiPut(['p/00', 'p/01'], 'a'), { kind: 'txn', revision: 2, succeeded: true, results: [{ kind: 'put' }, { kind: 'put' }] }),
      op(2, 2, 20, Infinity, prefixDelete, lost),
      op(3, 3, 40, 50, { kind: 'range', key: 'p/', end: 'p0' }, { kind: 'range', revision: 3, count: 0, kvs: [] }),
    ];
    // Unresolved, the delete may have taken effect at revision 3: linearizable.
    expect(checkLinearizable(ops).ok).toBe(true);
    // The log lost revision 3: the delete is dropped and the read has no explanation.
    const lostLog: RevisionEvents[] = [{ revision: 2, events: [putEv('p/00', 'a', 2, 2, 1), putEv('p/01', 'a', 2, 2, 1)] }];
    const p = resolveUnknownWrites(ops, lostLog, [], 100);
    expect(p.dropped).toBe(1);
    expect(checkLinearizable(p.operations).ok).toBe(false);
    // With the revision in the log, the delete stays unknown and the history passes.
    const fullLog: RevisionEvents[] = [...lostLog, { revision: 3, events: [tomb('p/00', 3), tomb('p/01', 3)] }];
    expect(checkLinearizable(resolveUnknownWrites(ops, fullLog, [], 100).operations).ok).toBe(true);
  });
});
