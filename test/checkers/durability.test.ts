import { describe, expect, it } from 'vitest';
import { checkDurability } from './durability.js';
import { revisionEvents } from './model-state.js';
import { op, sequential } from './fixtures.js';
import type { Operation, RevisionEvents } from './history.js';

const { ops, state } = sequential([
  { kind: 'leaseGrant', id: '5', ttl: 30 },
  { kind: 'put', key: 'a', value: '1' },
  { kind: 'put', key: 'b', value: '1', lease: '5' },
  { kind: 'txn', compare: [{ key: 'a', target: 'version', op: '=', operand: 1 }], success: [{ kind: 'put', key: 'a', value: '2' }, { kind: 'delete', key: 'c' }], failure: [] },
  { kind: 'delete', key: 'a' },
  { kind: 'delete', key: 'zzz' },
  { kind: 'put', key: 'c', value: '1' },
  { kind: 'leaseRevoke', id: '5' },
  { kind: 'compact', revision: 4 },
]);
const log = revisionEvents(state);
const clone = (l: RevisionEvents[]): RevisionEvents[] => JSON.parse(JSON.stringify(l));

describe('checkDurability', () => {
  it('a complete log with every acknowledged write passes', () => {
    const r = checkDurability(ops, log, { compactedRevision: 4 });
    expect(r.problems).toEqual([]);
    expect(log.map((r) => r.revision)).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('unknown-outcome writes may be absent or present', () => {
    const lost: Operation = op(99, 9, 100, Infinity, { kind: 'put', key: 'q', value: 'maybe' }, { kind: 'error', message: 'timeout', definite: false });
    expect(checkDurability([...ops, lost], log).ok).toBe(true);
  });

  it('an acknowledged write missing after recovery fails', () => {
    const l = clone(log);
    l[1].events = [{ type: 'put', kv: { key: 'x', value: 'other', createRevision: 3, modRevision: 3, version: 1, lease: '0' } }];
    const r = checkDurability(ops, l, { allowUnrecordedWrites: true });
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toContain('acknowledged write lost: put of "b" at revision 3');
  });

  it('a lost tail fails (the log ends before an acknowledged revision)', () => {
    const r = checkDurability(ops, log.slice(0, 4));
    expect(r.problems.join('\n')).toContain('acknowledged revision 6 is missing');
  });

  it('two writes with the same revision, a gap, an empty revision fail', () => {
    expect(checkDurability(ops, [...log, log[2]]).problems.join()).toContain('revision 4 appears twice');
    expect(checkDurability(ops, [log[0], ...log.slice(2)]).problems.join()).toContain('revisions 3..3 are missing');
    const l = clone(log);
    l.push({ revision: 8, events: [] });
    expect(checkDurability(ops, l).problems.join()).toContain('revision 8 has no events');
  });

  it('a wrong version, a value nobody wrote, a revoked lease whose key survives, a lost compaction fail', () => {
    const l = clone(log);
    l[2].events[0].kv.version = 7;
    expect(checkDurability(ops, l).problems.join()).toContain('version 7');
    const p = clone(log);
    p[0].events[0].kv.value = 'ghost';
    expect(checkDurability(ops, p).problems.join()).toContain('a value no client wrote');
    // The revoke's revision deletes another key instead of the lease's key "b".
    const k = clone(log);
    expect(k[5].events.map((e) => `${e.type} ${e.kv.key}`)).toEqual(['delete b']);
    k[5].events = [{ type: 'delete', kv: { key: 'c', value: '', createRevision: 0, modRevision: 7, version: 0, lease: '0' } }];
    const r = checkDurability(ops, k);
    expect(r.problems.join()).toContain('acknowledged lease revoke lost: key(s) "b" still hold lease 5 at revision 7');
    expect(checkDurability(ops, log, { compactedRevision: 3 }).problems.join()).toContain('acknowledged compaction at 4 lost');
  });
});
