import { describe, expect, it } from 'vitest';
import { checkSerializable } from './serializable.js';
import { revisionEvents } from './model-state.js';
import { kv, op, sequential } from './fixtures.js';

const { state } = sequential([
  { kind: 'put', key: 'a', value: '1' },
  { kind: 'put', key: 'a', value: '2' },
  { kind: 'put', key: 'b', value: '1' },
]);
const log = revisionEvents(state);
const read = (id: number, revision: number, kvs: ReturnType<typeof kv>[], extra: { revision?: number; limit?: number } = {}) =>
  op(id, id, 0, 10, { kind: 'range', key: 'a', end: '\0', serializable: true, ...extra }, { kind: 'range', revision, kvs, count: kvs.length });

describe('checkSerializable', () => {
  it('stale reads pass when they equal the state at their revision', () => {
    const r = checkSerializable([
      read(1, 4, [kv('a', '2', 2, 3, 2), kv('b', '1', 4, 4, 1)]),
      read(2, 2, [kv('a', '1', 2, 2, 1)]),
      read(3, 3, [kv('a', '2', 2, 3, 2)]),
      read(4, 1, []),
      read(5, 4, [kv('a', '1', 2, 2, 1)], { revision: 2 }),
      { ...read(6, 4, [kv('a', '2', 2, 3, 2)], { limit: 1 }), response: { kind: 'range', revision: 4, kvs: [kv('a', '2', 2, 3, 2)], count: 2 } },
    ], log);
    expect(r.problems).toEqual([]);
  });

  it('a read not matching its revision fails', () => {
    const r = checkSerializable([read(1, 3, [kv('a', '1', 2, 2, 1)])], log);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toContain('does not match the state at revision 3');
  });

  it('a read at a revision never committed fails', () => {
    expect(checkSerializable([read(1, 9, [kv('a', '2', 2, 3, 2), kv('b', '1', 4, 4, 1)])], log).ok).toBe(false);
  });

  it('linearizable reads are not its business', () => {
    const lin = op(1, 1, 0, 10, { kind: 'range', key: 'a' }, { kind: 'range', revision: 3, kvs: [], count: 0 });
    expect(checkSerializable([lin], log).ok).toBe(true);
  });
});
