// Writes of unknown outcome resolved from the committed event log (the fault
// suite and the simulation both do it): a put or txn found there gets its
// revision, its branch's answer and a return no later than its first watch
// sighting; one not found is dropped; other unknown writes, and a txn whose
// branch the log does not single out, stay unknown. And the resolution never
// turns a lost acknowledged write into a pass.

import { describe, expect, it } from 'vitest';
import type { Operation, RevisionEvents, WatchRecord } from './history.js';
import { checkLinearizable } from './index.js';
import { resolveUnknownWrites } from './resolve-unknown.js';

const kv = (key: string, value: string, rev: number, version = 1) => ({ key, value, createRevision: rev, modRevision: rev, version, lease: '0' });
const lost = { kind: 'error', message: 'read ECONNRESET', definite: false } as const;

const ops: Operation[] = [
  { id: 0, client: 0, call: 0, return: 5, request: { kind: 'put', key: 'a', value: 'v0' }, response: { kind: 'put', revision: 2 } },
  // Unknown, but in the log at revision 3 (seen by a watcher at t=40).
  { id: 1, client: 1, call: 10, return: Infinity, request: { kind: 'put', key: 'a', value: 'v1' }, response: lost },
  // Unknown and not in the log: never took effect.
  { id: 2, client: 2, call: 12, return: Infinity, request: { kind: 'put', key: 'b', value: 'v2' }, response: lost },
  // A CAS of unknown outcome whose put is in the log at revision 4 (no watcher saw it).
  {
    id: 3, client: 3, call: 20, return: Infinity,
    request: { kind: 'txn', compare: [{ key: 'a', target: 'mod', op: '=', operand: 3 }], success: [{ kind: 'put', key: 'a', value: 'v3' }], failure: [{ kind: 'range', key: 'a' }] },
    response: lost,
  },
  // A delete of unknown outcome that no delete-only revision of the log can be: it changed nothing.
  { id: 4, client: 4, call: 30, return: Infinity, request: { kind: 'delete', key: 'zz' }, response: lost },
  { id: 5, client: 0, call: 100, return: 110, request: { kind: 'range', key: 'a' }, response: { kind: 'range', revision: 4, kvs: [{ ...kv('a', 'v3', 4, 3), createRevision: 2 }], count: 1 } },
];
const events: RevisionEvents[] = [
  { revision: 2, events: [{ type: 'put', kv: kv('a', 'v0', 2) }] },
  { revision: 3, events: [{ type: 'put', kv: { ...kv('a', 'v1', 3, 2), createRevision: 2 } }] },
  { revision: 4, events: [{ type: 'put', kv: { ...kv('a', 'v3', 4, 3), createRevision: 2 } }] },
];
const watches: WatchRecord[] = [
  { id: 0, client: 9, request: { key: 'a' }, responses: [{ time: 40, revision: 3, events: [events[1]!.events[0]!] }] },
];

describe('resolveUnknownWrites', () => {
  it('resolves writes found in the log, drops the others, leaves the rest unknown', () => {
    const p = resolveUnknownWrites(ops, events, watches, 200);
    expect(p.resolved).toBe(2);
    expect(p.dropped).toBe(2);
    const byId = new Map(p.operations.map((o) => [o.id, o]));
    expect(byId.has(2)).toBe(false);
    expect(byId.has(4)).toBe(false);
    expect(byId.get(1)).toMatchObject({ return: 40, response: { kind: 'put', revision: 3 } });
    expect(byId.get(3)).toMatchObject({ return: 200, response: { kind: 'txn', revision: 4, succeeded: true, results: [{ kind: 'put' }] } });
    expect(checkLinearizable(p.operations).ok).toBe(true);
  });

  it('does not explain away a read of a value the log does not have', () => {
    // Revision 4 is missing from the log: the CAS is dropped, and the read of its value has no writer.
    const p = resolveUnknownWrites(ops, events.slice(0, 2), watches, 200);
    expect(p.dropped).toBe(3);
    expect(checkLinearizable(p.operations).ok).toBe(false);
  });

  // The simulation's txns: [put, range] / [range], and [delete, put] / [put] with one value in both branches.
  const casPutRead = (id: number, value: string): Operation => ({
    id, client: id, call: 10 * id, return: Infinity, response: lost,
    request: { kind: 'txn', compare: [{ key: 'a', target: 'version', op: '>', operand: 0 }], success: [{ kind: 'put', key: 'a', value }, { kind: 'range', key: 'b' }], failure: [{ kind: 'range', key: 'a' }] },
  });
  const delPut = (id: number, value: string, del: string, failKey: string): Operation => ({
    id, client: id, call: 10 * id, return: Infinity, response: lost,
    request: { kind: 'txn', compare: [{ key: 'a', target: 'value', op: '!=', operand: 'x' }], success: [{ kind: 'delete', key: del }, { kind: 'put', key: 'a', value }], failure: [{ kind: 'put', key: failKey, value }] },
  });
  const log: RevisionEvents[] = [
    { revision: 2, events: [{ type: 'put', kv: kv('a', 'v0', 2) }, { type: 'put', kv: kv('b', 'w0', 2) }] },
    { revision: 3, events: [{ type: 'put', kv: { ...kv('a', 't1', 3, 2), createRevision: 2 } }] },
    { revision: 4, events: [{ type: 'delete', kv: { key: 'b', value: '', createRevision: 0, modRevision: 4, version: 0, lease: '0' } }, { type: 'put', kv: { ...kv('a', 't2', 4, 3), createRevision: 2 } }] },
    { revision: 5, events: [{ type: 'put', kv: kv('c', 't3', 5) }] },
  ];

  it("gives a txn the answer of the branch whose writes make the log's events at its revision", () => {
    const p = resolveUnknownWrites([casPutRead(1, 't1'), delPut(2, 't2', 'b', 'c'), delPut(3, 't3', 'zz', 'c')], log, [], 100);
    expect(p.resolved).toBe(3);
    const [a, b, c] = p.operations;
    // The range after the put reads the state the log had before revision 3.
    expect(a).toMatchObject({ return: 100, response: { kind: 'txn', revision: 3, succeeded: true, results: [{ kind: 'put' }, { kind: 'range', kvs: [kv('b', 'w0', 2)] }] } });
    expect(b).toMatchObject({ response: { kind: 'txn', revision: 4, succeeded: true, results: [{ kind: 'delete', deleted: 1 }, { kind: 'put' }] } });
    expect(c).toMatchObject({ response: { kind: 'txn', revision: 5, succeeded: false, results: [{ kind: 'put' }] } });
  });

  it('leaves a txn unknown when both branches would make the same events, or when a branch that writes no value may have run', () => {
    // [delete of a missing key, put a=v] and [put a=v] give the same events with different answers.
    const ambiguous = delPut(1, 't1', 'zz', 'a');
    const deleteOnFailure: Operation = { ...casPutRead(2, 'nowhere'), request: { kind: 'txn', compare: [], success: [{ kind: 'put', key: 'a', value: 'nowhere' }], failure: [{ kind: 'delete', key: 'b' }] } };
    const p = resolveUnknownWrites([ambiguous, deleteOnFailure], log, [], 100);
    expect(p).toMatchObject({ resolved: 0, dropped: 0 });
    expect(p.operations).toEqual([ambiguous, deleteOnFailure]);
  });

  it('drops a txn whose values are nowhere in the log when its other branch only reads', () => {
    expect(resolveUnknownWrites([casPutRead(1, 'nowhere')], log, [], 100)).toMatchObject({ resolved: 0, dropped: 1, operations: [] });
  });
});
