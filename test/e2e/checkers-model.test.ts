// The checkers' model of etcd (test/checkers/model.ts) against the real thing:
// one scripted run of KV, txn, lease and compaction requests (edge cases
// included) on a fresh single member of etcd 3.4.23 and of bin/etcd-ts, every
// answer compared field by field, revisions included, with what the model
// answers for the same sequence. If etcd and the model disagree, the model is
// wrong and every history check built on it is suspect.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLinearizable, checkSerializable, initialState, responseMatches, revisionEvents, step } from '../checkers/index.js';
import type { Operation, Request } from '../checkers/history.js';
import { etcdIs34, IN_CI, startMember, stopMember, type Member } from './helpers/etcd-process.js';
import { HistoryClient } from './helpers/history-client.js';

const REAL_ETCD = etcdIs34();
if (IN_CI && !REAL_ETCD) throw new Error('CI needs etcd 3.4 on PATH to check the history model against it');

const SCRIPT: Request[] = [
  { kind: 'range', key: 'a' },
  { kind: 'put', key: 'a', value: '1' },
  { kind: 'put', key: 'a', value: '2' },
  { kind: 'put', key: 'b', value: '1' },
  { kind: 'delete', key: 'zz' },
  { kind: 'range', key: 'a', end: '\0' },
  { kind: 'range', key: 'a', end: '\0', limit: 1 },
  { kind: 'range', key: 'a', revision: 2 },
  { kind: 'range', key: 'a', revision: 99 },
  { kind: 'txn', compare: [{ key: 'a', target: 'value', op: '=', operand: '2' }], success: [{ kind: 'put', key: 'a', value: '3' }, { kind: 'put', key: 'c', value: '1' }, { kind: 'range', key: 'a', end: '\0' }], failure: [{ kind: 'range', key: 'a' }] },
  { kind: 'txn', compare: [{ key: 'a', target: 'version', op: '>', operand: 10 }], success: [], failure: [{ kind: 'delete', key: 'b' }, { kind: 'range', key: 'b' }] },
  { kind: 'txn', compare: [{ key: 'missing', target: 'value', op: '=', operand: '' }], success: [{ kind: 'put', key: 'x', value: '1' }], failure: [] },
  { kind: 'txn', compare: [{ key: 'missing', target: 'create', op: '=', operand: 0 }, { key: 'a', target: 'mod', op: '<', operand: 6 }], success: [{ kind: 'range', key: 'missing' }], failure: [] },
  { kind: 'txn', compare: [], success: [{ kind: 'put', key: 'x', value: '1' }, { kind: 'put', key: 'x', value: '2' }], failure: [] },
  { kind: 'txn', compare: [], success: [{ kind: 'delete', key: 'c', end: 'e' }, { kind: 'put', key: 'd', value: '1' }], failure: [] },
  { kind: 'leaseGrant', id: '1000', ttl: 1 },
  { kind: 'leaseGrant', id: '1000', ttl: 30 },
  { kind: 'put', key: 'k1', value: '1', lease: '1000' },
  { kind: 'put', key: 'k2', value: '1', lease: '1000' },
  { kind: 'put', key: 'k3', value: '1', lease: '9999' },
  { kind: 'txn', compare: [], success: [{ kind: 'put', key: 'k4', value: '1', lease: '9999' }], failure: [] },
  { kind: 'leaseGrant', id: '3000', ttl: 60 },
  { kind: 'put', key: 'k2', value: '2', lease: '3000' },
  { kind: 'leaseKeepAlive', id: '1000' },
  { kind: 'leaseRevoke', id: '1000' },
  { kind: 'range', key: 'k', end: 'l' },
  { kind: 'leaseRevoke', id: '1000' },
  { kind: 'leaseKeepAlive', id: '1000' },
  { kind: 'leaseGrant', id: '2000', ttl: 60 },
  { kind: 'leaseRevoke', id: '2000' },
  { kind: 'leaseGrant', id: '4000', ttl: 9_000_000_001 },
  { kind: 'compact', revision: 5 },
  { kind: 'compact', revision: 5 },
  { kind: 'compact', revision: 4 },
  { kind: 'compact', revision: 99 },
  { kind: 'range', key: 'a', revision: 4 },
  { kind: 'range', key: 'a', end: '\0', revision: 5 },
  { kind: 'range', key: 'a', end: '\0', serializable: true },
  { kind: 'delete', key: 'a', end: 'c' },
  { kind: 'put', key: 'a', value: 'again' },
  { kind: 'put', key: 'u\u00e9', value: '1' },
  { kind: 'put', key: 'u\uE000', value: '1' },
  { kind: 'put', key: 'u\u{1D11E}', value: '1' },
  { kind: 'range', key: 'u', end: 'v' },
  { kind: 'range', key: '\0', end: '\0' },
];

async function record(impl: 'etcd' | 'etcd-ts'): Promise<Operation[]> {
  let m: Member | undefined;
  let client: HistoryClient | undefined;
  try {
    m = await startMember({ impl });
    client = new HistoryClient(m.endpoint);
    const ops: Operation[] = [];
    let t = 0;
    for (const [id, request] of SCRIPT.entries()) {
      const call = t++;
      const response = await client.run(request);
      ops.push({ id, client: 0, member: impl, call, return: t++, request, response });
    }
    return ops;
  } finally {
    client?.close();
    await stopMember(m);
  }
}

/** Every answer next to the model's, the differing ones listed. */
function disagreements(ops: Operation[]): string[] {
  let state = initialState();
  const out: string[] = [];
  for (const op of ops) {
    const r = step(state, op.request);
    state = r.state;
    if (!responseMatches(r.response, op.response)) out.push(`#${op.id} ${JSON.stringify(op.request)}\n  member: ${JSON.stringify(op.response)}\n  model:  ${JSON.stringify(r.response)}`);
  }
  return out;
}

for (const impl of ['etcd', 'etcd-ts'] as const) {
  describe.skipIf(impl === 'etcd' && !REAL_ETCD)(`the history model answers as ${impl} does`, () => {
    let ops: Operation[] = [];
    beforeAll(async () => {
      ops = await record(impl);
    }, 60_000);
    afterAll(() => undefined);

    it("every answer, field by field", () => {
      if (process.env.DUMP_HISTORY) console.log(ops.map((o) => JSON.stringify(o.response)).join("\n"));
      expect(ops).toHaveLength(SCRIPT.length);
      expect(disagreements(ops)).toEqual([]);
    });

    it('the run passes the linearizability and serializable-read checks', () => {
      let state = initialState();
      for (const op of ops) state = step(state, op.request).state;
      expect(checkLinearizable(ops).problems).toEqual([]);
      expect(checkSerializable(ops, revisionEvents(state)).problems).toEqual([]);
    });
  });
}
