// Transaction request validation and compare evaluation, following etcd's
// v3rpc/key.go (checkTxnRequest, checkIntervals) and etcdserver/apply.go
// (applyCompare, compareKV).

import {
  TxnValidationError, ErrEmptyKeyText, ErrTooManyOpsText, ErrDuplicateKeyText,
  ErrValueProvidedText, ErrLeaseProvidedText, ErrKeyNotFoundText,
} from './errors.js';
import { bytesCompare, toSkey } from './keys.js';
import { CompareResult, CompareTarget, type Compare, type KeyValue, type PutRequest, type RequestOp, type TxnRequest } from './types.js';

const emptyKey = (): TxnValidationError => new TxnValidationError('empty-key', ErrEmptyKeyText);

export function validatePut(r: PutRequest): void {
  if (r.key.length === 0) throw emptyKey();
  if (r.ignoreValue && r.value.length !== 0) throw new TxnValidationError('value-provided', ErrValueProvidedText);
  if (r.ignoreLease && r.lease !== 0n) throw new TxnValidationError('lease-provided', ErrLeaseProvidedText);
}

export function validateKey(key: Uint8Array): void {
  if (key.length === 0) throw emptyKey();
}

function validateOp(op: RequestOp, maxTxnOps: number): void {
  if ('range' in op) validateKey(op.range.key);
  else if ('put' in op) validatePut(op.put);
  else if ('deleteRange' in op) validateKey(op.deleteRange.key);
  else if ('txn' in op) checkTxnRequest(op.txn, maxTxnOps);
  // etcd answers an op with no request set with "key not found".
  else throw new TxnValidationError('key-not-found', ErrKeyNotFoundText);
}

// Note the budget passed down is maxTxnOps minus this level's op count, as etcd
// does: it bounds nesting depth × width without counting every op.
function checkTxnRequest(r: TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) throw new TxnValidationError('too-many-ops', ErrTooManyOpsText);
  for (const c of r.compare) if (c.key.length === 0) throw emptyKey();
  for (const u of r.success) validateOp(u, maxTxnOps - opc);
  for (const u of r.failure) validateOp(u, maxTxnOps - opc);
}

// --- duplicate-key rule (etcd checkIntervals) --------------------------------
// Intervals use etcd's "affine" string order in which the empty string is +∞.
// Like etcd, a delete whose rangeEnd is "\0" becomes the interval [key, "\0"),
// which contains no point ≥ "\0": etcd does not flag puts under a from-key
// delete, and neither do we.

interface Interval { begin: string; end: string }

function affineCmp(a: string, b: string): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function overlaps(a: Interval, b: Interval): boolean {
  // etcd Interval.Compare == 0
  if (affineCmp(a.begin, b.begin) < 0 && affineCmp(a.end, b.begin) <= 0) return false;
  if (affineCmp(a.begin, b.end) >= 0) return false;
  return true;
}

const point = (k: string): Interval => ({ begin: k, end: k + '\0' });
const intersectsAny = (dels: Interval[], k: string): boolean => {
  const p = point(k);
  for (const d of dels) if (overlaps(p, d)) return true;
  return false;
};
const dup = (): TxnValidationError => new TxnValidationError('duplicate-key', ErrDuplicateKeyText);

function checkIntervals(reqs: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const req of reqs) {
    if (!('deleteRange' in req)) continue;
    const d = req.deleteRange;
    dels.push(d.rangeEnd.length !== 0 ? { begin: toSkey(d.key), end: toSkey(d.rangeEnd) } : point(toSkey(d.key)));
  }
  const puts = new Set<string>();
  for (const req of reqs) {
    if (!('txn' in req)) continue;
    const thenSide = checkIntervals(req.txn.success);
    const elseSide = checkIntervals(req.txn.failure);
    for (const k of thenSide.puts) {
      if (puts.has(k) || intersectsAny(dels, k)) throw dup();
      puts.add(k);
    }
    for (const k of elseSide.puts) {
      // The same key in both branches is fine: only one branch runs.
      if (puts.has(k) && !thenSide.puts.has(k)) throw dup();
      if (intersectsAny(dels, k)) throw dup();
      puts.add(k);
    }
    dels.push(...thenSide.dels, ...elseSide.dels);
  }
  for (const req of reqs) {
    if (!('put' in req)) continue;
    const k = toSkey(req.put.key);
    if (puts.has(k) || intersectsAny(dels, k)) throw dup();
    puts.add(k);
  }
  return { puts, dels };
}

/** Everything etcd's kvServer.Txn checks before proposing. Throws TxnValidationError. */
export function validateTxn(req: TxnRequest, maxTxnOps: number): void {
  checkTxnRequest(req, maxTxnOps);
  checkIntervals(req.success);
  checkIntervals(req.failure);
}

/** etcd's isTxnReadonly: only top-level ranges (a nested txn counts as a write). */
export function isTxnReadonly(req: TxnRequest): boolean {
  for (const op of req.success) if (!('range' in op)) return false;
  for (const op of req.failure) if (!('range' in op)) return false;
  return true;
}

/** Does the compare need values/leases (i.e. a backend fetch), or only index data? */
export function compareNeedsValue(c: Compare): boolean {
  return c.target === CompareTarget.Value || c.target === CompareTarget.Lease;
}

const cmpNum = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

export function compareKv(c: Compare, kv: KeyValue): boolean {
  let r: number;
  switch (c.target) {
    case CompareTarget.Value: r = bytesCompare(kv.value, c.value); break;
    case CompareTarget.Create: r = cmpNum(kv.createRevision, c.createRevision); break;
    case CompareTarget.Mod: r = cmpNum(kv.modRevision, c.modRevision); break;
    case CompareTarget.Version: r = cmpNum(kv.version, c.version); break;
    case CompareTarget.Lease: r = kv.lease < c.lease ? -1 : kv.lease > c.lease ? 1 : 0; break;
    default: return true;
  }
  switch (c.result) {
    case CompareResult.Equal: return r === 0;
    case CompareResult.NotEqual: return r !== 0;
    case CompareResult.Greater: return r > 0;
    case CompareResult.Less: return r < 0;
    default: return true;
  }
}

/**
 * All KeyValues in the compare's range must satisfy it; an empty range compares
 * as a zero KeyValue, except on VALUE, which then fails (etcd applyCompare).
 */
export function compareRange(c: Compare, kvs: KeyValue[]): boolean {
  if (kvs.length === 0) {
    if (c.target === CompareTarget.Value) return false;
    return compareKv(c, { key: c.key, createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n });
  }
  for (const kv of kvs) if (!compareKv(c, kv)) return false;
  return true;
}
