// etcd 3.4's KV, lease and compaction semantics as a pure, deterministic state
// machine: `step(state, request)` gives the next state and the exact response
// a member would have sent (revisions included), learned from etcd's
// etcdserver/apply.go, mvcc/kvstore*.go and lease/lessor.go:
// - a put bumps the revision; a delete (or a lease revoke) that removed nothing
//   does not; a txn bumps it once if it wrote, its writes sharing that revision
//   in order; a range (and a read-only txn) answers with the current revision,
//   whatever revision it read at;
// - a range above the current revision fails "future revision", below the
//   compacted one "compacted" (reading at the compacted revision itself works);
//   compacting at or below the compacted revision fails "compacted", above the
//   current one "future revision";
// - a put (alone or in the txn branch taken) naming a missing lease fails
//   "requested lease not found" and changes nothing; granting an existing id
//   fails "lease already exists"; a grant below the minimum TTL is raised to it;
// - revoking a lease deletes its keys in key order in one revision.
// Lease expiry is not modelled: a history where leases may expire records it
// as a leaseRevoke of unknown outcome (see linearizability.ts).

import type { Compare, KeyValue, Request, Response, TxnOp, TxnOpResult } from './history.js';
import { compareKeys, inKeyRange, keysInRange } from './keys.js';
import {
  extendLogHash, kvsAt, leaseHashWith, type Change, type ModelState,
} from './model-state.js';

/** The gRPC error texts etcd 3.4 answers with (rpctypes/error.go). */
export const ModelErrors = {
  compacted: 'etcdserver: mvcc: required revision has been compacted',
  futureRevision: 'etcdserver: mvcc: required revision is a future revision',
  leaseNotFound: 'etcdserver: requested lease not found',
  leaseExists: 'etcdserver: lease already exists',
  leaseTTLTooLarge: 'etcdserver: too large lease TTL',
  duplicateKey: 'etcdserver: duplicate key given in txn request',
} as const;

/** etcd's lease.MaxLeaseTTL. */
const MAX_LEASE_TTL = 9_000_000_000;

export interface StepResult {
  state: ModelState;
  response: Response;
}

export function step(s: ModelState, req: Request): StepResult {
  switch (req.kind) {
    case 'range': return range(s, req);
    case 'put': return put(s, req.key, req.value, req.lease);
    case 'delete': return del(s, req.key, req.end);
    case 'txn': return txn(s, req.compare, req.success, req.failure);
    case 'compact': return compact(s, req.revision);
    case 'leaseGrant': return leaseGrant(s, req.id, req.ttl);
    case 'leaseRevoke': return leaseRevoke(s, req.id);
    case 'leaseKeepAlive': return { state: s, response: { kind: 'leaseKeepAlive', ttl: s.leases.get(req.id) ?? 0 } };
  }
}

/** Whether a request can change the state (a failed or unknown read says nothing). */
export function isWriteRequest(req: Request): boolean {
  switch (req.kind) {
    case 'range':
    case 'leaseKeepAlive':
      return false;
    case 'txn':
      return [...req.success, ...req.failure].some((op) => op.kind !== 'range');
    default:
      return true;
  }
}

function fail(s: ModelState, message: string): StepResult {
  return { state: s, response: { kind: 'error', message, definite: true } };
}

function hasLease(s: ModelState, lease: string | undefined): boolean {
  return lease === undefined || lease === '' || lease === '0' || s.leases.has(lease);
}

/** The writes of one revision: the latest-key map is copied on the first write. */
class WriteBatch {
  private copy: Map<string, KeyValue> | null = null;
  readonly changes: Change[] = [];
  readonly revision: number;

  constructor(private readonly base: ModelState) {
    this.revision = base.revision + 1;
  }

  view(): ReadonlyMap<string, KeyValue> {
    return this.copy ?? this.base.latest;
  }

  private writable(): Map<string, KeyValue> {
    return (this.copy ??= new Map(this.base.latest));
  }

  put(key: string, value: string, lease: string | undefined): void {
    const prev = this.view().get(key);
    const kv: KeyValue = {
      key,
      value,
      createRevision: prev ? prev.createRevision : this.revision,
      modRevision: this.revision,
      version: prev ? prev.version + 1 : 1,
      lease: lease === undefined || lease === '' ? '0' : lease,
    };
    this.writable().set(key, kv);
    this.changes.push({ key, kv, prev });
  }

  deleteRange(key: string, end: string | undefined): number {
    const keys = keysInRange(this.view().keys(), key, end);
    for (const k of keys) {
      const prev = this.view().get(k);
      this.writable().delete(k);
      this.changes.push({ key: k, kv: null, prev });
    }
    return keys.length;
  }

  range(key: string, end: string | undefined): KeyValue[] {
    const view = this.view();
    return keysInRange(view.keys(), key, end).map((k) => view.get(k)!);
  }

  /** The state after the batch (the base itself when nothing was written), with the leases given. */
  commit(leases = this.base.leases, leaseHash = this.base.leaseHash): ModelState {
    const s = this.base;
    if (this.changes.length === 0) return leases === s.leases ? s : { ...s, leases, leaseHash };
    const entry = { revision: this.revision, changes: this.changes };
    return {
      ...s,
      revision: this.revision,
      latest: this.copy!,
      log: { entry, older: s.log },
      logHash: extendLogHash(s.logHash, entry),
      leases,
      leaseHash,
    };
  }
}

function range(s: ModelState, req: Extract<Request, { kind: 'range' }>): StepResult {
  const asked = req.revision ?? 0;
  if (asked > s.revision) return fail(s, ModelErrors.futureRevision);
  const at = asked <= 0 ? s.revision : asked;
  if (at < s.compacted) return fail(s, ModelErrors.compacted);
  const all = kvsAt(s, req.key, req.end, at);
  const kvs = req.limit && req.limit > 0 && all.length > req.limit ? all.slice(0, req.limit) : all;
  return { state: s, response: { kind: 'range', revision: s.revision, kvs, count: all.length } };
}

function put(s: ModelState, key: string, value: string, lease: string | undefined): StepResult {
  if (!hasLease(s, lease)) return fail(s, ModelErrors.leaseNotFound);
  const batch = new WriteBatch(s);
  batch.put(key, value, lease);
  const state = batch.commit();
  return { state, response: { kind: 'put', revision: state.revision } };
}

function del(s: ModelState, key: string, end: string | undefined): StepResult {
  const batch = new WriteBatch(s);
  const deleted = batch.deleteRange(key, end);
  const state = batch.commit();
  return { state, response: { kind: 'delete', revision: state.revision, deleted } };
}

function compareOne(s: ModelState, c: Compare): boolean {
  const kv = s.latest.get(c.key);
  let result: number;
  if (c.target === 'value') {
    // etcd: comparing the value of a missing key always fails.
    if (!kv) return false;
    result = compareKeys(kv.value, String(c.operand));
  } else {
    const field = c.target === 'version' ? 'version' : c.target === 'create' ? 'createRevision' : 'modRevision';
    result = (kv ? kv[field] : 0) - Number(c.operand);
  }
  switch (c.op) {
    case '=': return result === 0;
    case '!=': return result !== 0;
    case '<': return result < 0;
    case '>': return result > 0;
  }
}

/** etcd rejects a branch that puts a key twice or puts a key it also deletes (v3rpc checkIntervals). */
function hasDuplicateKey(ops: TxnOp[]): boolean {
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.kind !== 'put') continue;
    if (puts.has(op.key)) return true;
    puts.add(op.key);
  }
  return ops.some((op) => op.kind === 'delete' && [...puts].some((k) => inKeyRange(k, op.key, op.end)));
}

function txn(s: ModelState, compare: Compare[], success: TxnOp[], failure: TxnOp[]): StepResult {
  if (hasDuplicateKey(success) || hasDuplicateKey(failure)) return fail(s, ModelErrors.duplicateKey);
  const succeeded = compare.every((c) => compareOne(s, c));
  const ops = succeeded ? success : failure;
  if (ops.some((op) => op.kind === 'put' && !hasLease(s, op.lease))) return fail(s, ModelErrors.leaseNotFound);
  const batch = new WriteBatch(s);
  const results: TxnOpResult[] = ops.map((op) => {
    switch (op.kind) {
      case 'put':
        batch.put(op.key, op.value, op.lease);
        return { kind: 'put' };
      case 'delete':
        return { kind: 'delete', deleted: batch.deleteRange(op.key, op.end) };
      case 'range':
        return { kind: 'range', kvs: batch.range(op.key, op.end) };
    }
  });
  const state = batch.commit();
  return { state, response: { kind: 'txn', revision: state.revision, succeeded, results } };
}

function compact(s: ModelState, revision: number): StepResult {
  if (revision <= s.compacted) return fail(s, ModelErrors.compacted);
  if (revision > s.revision) return fail(s, ModelErrors.futureRevision);
  return { state: { ...s, compacted: revision }, response: { kind: 'compact', revision: s.revision } };
}

function leaseGrant(s: ModelState, id: string, ttl: number): StepResult {
  // A zero id asks the server to choose one; the checker substitutes the id the
  // server answered with before stepping, so here it is etcd's lessor refusing it.
  if (id === '0' || id === '') return fail(s, ModelErrors.leaseNotFound);
  if (ttl > MAX_LEASE_TTL) return fail(s, ModelErrors.leaseTTLTooLarge);
  if (s.leases.has(id)) return fail(s, ModelErrors.leaseExists);
  const granted = Math.max(ttl, s.options.minLeaseTTL);
  const leases = new Map(s.leases).set(id, granted);
  const state = { ...s, leases, leaseHash: leaseHashWith(s.leaseHash, id, granted, 1) };
  return { state, response: { kind: 'leaseGrant', revision: s.revision, id, ttl: granted } };
}

function leaseRevoke(s: ModelState, id: string): StepResult {
  const ttl = s.leases.get(id);
  if (ttl === undefined) return fail(s, ModelErrors.leaseNotFound);
  const batch = new WriteBatch(s);
  const attached = [...s.latest.values()].filter((kv) => kv.lease === id).map((kv) => kv.key).sort(compareKeys);
  for (const key of attached) batch.deleteRange(key, undefined);
  const leases = new Map(s.leases);
  leases.delete(id);
  const state = batch.commit(leases, leaseHashWith(s.leaseHash, id, ttl, -1));
  return { state, response: { kind: 'leaseRevoke', revision: state.revision } };
}
