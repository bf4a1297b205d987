// The fault suite resolves writes of unknown outcome from the committed event
// log: a put found there gets its revision and a return no later than its first
// watch sighting; one not found is dropped; other unknown writes stay unknown.
// And the resolution never turns a lost acknowledged write into a pass.

import { describe, expect, it } from 'vitest';
import type { Operation, RevisionEvents, WatchRecord } from '../checkers/history.js';
import { checkLinearizable } from '../checkers/index.js';
import { resolveUnknownWrites } from '../e2e/helpers/fault-patch.js';

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
  // A delete of unknown outcome stays as it is.
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
    expect(p.dropped).toBe(1);
    const byId = new Map(p.operations.map((o) => [o.id, o]));
    expect(byId.has(2)).toBe(false);
    expect(byId.get(1)).toMatchObject({ return: 40, response: { kind: 'put', revision: 3 } });
    expect(byId.get(3)).toMatchObject({ return: 200, response: { kind: 'txn', revision: 4, succeeded: true, results: [{ kind: 'put' }] } });
    expect(byId.get(4)).toBe(ops[4]);
    expect(checkLinearizable(p.operations).ok).toBe(true);
  });

  it('does not explain away a read of a value the log does not have', () => {
    // Revision 4 is missing from the log: the CAS is dropped, and the read of its value has no writer.
    const p = resolveUnknownWrites(ops, events.slice(0, 2), watches, 200);
    expect(p.dropped).toBe(2);
    expect(checkLinearizable(p.operations).ok).toBe(false);
  });
});
