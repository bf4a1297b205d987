// Applying Put / DeleteRange / Txn inside one WriteTxn, as etcd's applierV3backend:
// every compare of the whole (nested) transaction is evaluated first against the
// state before the transaction; then the chosen branches are checked (ignore_*
// keys must exist, range revisions must be readable) and only then applied, so a
// transaction either fails before changing anything or applies completely.

import { errCompacted, errFutureRev, errKeyNotFound, errLeaseNotFound } from './errors.js';
import { keyRange } from './keys.js';
import type { KeyRevInfo } from './key-index.js';
import { compareNeedsValue, compareRange } from './txn.js';
import {
  SortOrder, SortTarget,
  type Compare, type DeleteRangeRequest, type DeleteRangeResponse, type KeyValue, type PutRequest,
  type PutResponse, type RangeRequest, type RangeResponse, type RequestOp, type ResponseOp, type TxnRequest, type TxnResponse,
} from './types.js';
import type { ReadContext } from './range.js';
import type { WriteTxn, WriteContext } from './write-txn.js';

/** What compares and ranges read through: a WriteTxn, or a read-only txn's fixed revision (txn-read.ts). */
export interface TxnView {
  /** The revision reads see and the response reports. */
  readonly rev: number;
  range(req: RangeRequest): RangeResponse | Promise<RangeResponse>;
}

export function plainRange(key: Uint8Array, rangeEnd: Uint8Array): RangeRequest {
  return {
    key, rangeEnd, limit: 0, revision: 0, sortOrder: SortOrder.None, sortTarget: SortTarget.Key,
    serializable: false, keysOnly: false, countOnly: false,
    minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
  };
}

// Synchronous unless the previous value is needed and not buffered: plain puts
// never wait on LevelDB.
export function applyPut(tw: WriteTxn, p: PutRequest): PutResponse | Promise<PutResponse> {
  // A plain Put checks its lease before anything else, as etcd's applier does.
  if (p.lease !== 0n && !tw.ctx.leaseExists(p.lease)) throw errLeaseNotFound();
  if (!(p.prevKv || p.ignoreValue || p.ignoreLease)) return { revision: tw.put(p.key, p.value, p.lease) };
  const prev = tw.getOne(p.key);
  if (prev instanceof Promise) return prev.then((kv) => finishPut(tw, p, kv));
  return finishPut(tw, p, prev);
}

function finishPut(tw: WriteTxn, p: PutRequest, prev: KeyValue | undefined): PutResponse {
  if ((p.ignoreValue || p.ignoreLease) && prev === undefined) throw errKeyNotFound();
  const value = p.ignoreValue ? prev!.value : p.value;
  const lease = p.ignoreLease ? prev!.lease : p.lease;
  const revision = tw.put(p.key, value, lease);
  const resp: PutResponse = { revision };
  if (p.prevKv && prev !== undefined) resp.prevKv = prev;
  return resp;
}

/** Synchronous unless prevKv needs a LevelDB read. */
export function applyDeleteRange(tw: WriteTxn, d: DeleteRangeRequest): DeleteRangeResponse | Promise<DeleteRangeResponse> {
  if (!d.prevKv) return finishDelete(tw, d, []);
  const prev = tw.range(plainRange(d.key, d.rangeEnd));
  if (prev instanceof Promise) return prev.then((r) => finishDelete(tw, d, r.kvs));
  return finishDelete(tw, d, prev.kvs);
}

function finishDelete(tw: WriteTxn, d: DeleteRangeRequest, prevKvs: KeyValue[]): DeleteRangeResponse {
  const deleted = tw.deleteRange(d.key, d.rangeEnd);
  return { deleted, prevKvs, revision: tw.rev };
}

/** Index-only view of keys in a range (no value fetch). */
function rangeInfos(ctx: ReadContext, key: Uint8Array, rangeEnd: Uint8Array, atRev: number): KeyRevInfo[] {
  const kr = keyRange(key, rangeEnd);
  const out: KeyRevInfo[] = [];
  if (kr.single) {
    const info = ctx.index.get(kr.start)?.get(atRev);
    if (info) out.push(info);
    return out;
  }
  ctx.index.visit(kr.start, kr.end, (ki) => { const info = ki.get(atRev); if (info) out.push(info); });
  return out;
}

async function evalCompare(ctx: ReadContext, view: TxnView, c: Compare): Promise<boolean> {
  if (compareNeedsValue(c)) {
    return compareRange(c, (await view.range(plainRange(c.key, c.rangeEnd))).kvs);
  }
  const infos = rangeInfos(ctx, c.key, c.rangeEnd, view.rev);
  const EMPTY = new Uint8Array(0);
  return compareRange(c, infos.map((i) => ({
    key: c.key, createRevision: i.createMain, modRevision: i.modMain, version: i.version, value: EMPTY, lease: 0n,
  })));
}

/** Evaluates the compares of `req` and of the nested txns on its chosen branch; records each txn's branch in `paths`. */
export async function evalPaths(ctx: ReadContext, view: TxnView, req: TxnRequest, paths: Map<TxnRequest, boolean>): Promise<void> {
  let ok = true;
  for (const c of req.compare) {
    if (!(await evalCompare(ctx, view, c))) { ok = false; break; }
  }
  paths.set(req, ok);
  for (const op of ok ? req.success : req.failure) {
    if ('txn' in op) await evalPaths(ctx, view, op.txn, paths);
  }
}

/** The chosen branches' checks before anything is applied (etcd's checkRequests). */
export function checkRequests(ctx: WriteContext, curRev: number, req: TxnRequest, paths: Map<TxnRequest, boolean>): void {
  const firstRev = ctx.compactRev();
  for (const op of paths.get(req) ? req.success : req.failure) {
    if ('txn' in op) { checkRequests(ctx, curRev, op.txn, paths); continue; }
    if ('put' in op) {
      const p = op.put;
      if ((p.ignoreValue || p.ignoreLease) && rangeInfos(ctx, p.key, new Uint8Array(0), curRev).length === 0) {
        throw errKeyNotFound();
      }
      if (p.lease !== 0n && !ctx.leaseExists(p.lease)) throw errLeaseNotFound();
    } else if ('range' in op) {
      const r = op.range.revision;
      if (r === 0) continue;
      if (r > curRev) throw errFutureRev();
      if (r < firstRev) throw errCompacted();
    }
  }
}

async function applyOps(tw: WriteTxn, req: TxnRequest, paths: Map<TxnRequest, boolean>): Promise<TxnResponse> {
  const succeeded = paths.get(req)!;
  const responses: ResponseOp[] = [];
  for (const op of succeeded ? req.success : req.failure) responses.push(await applyOp(tw, op, paths));
  // Nested responses carry no revision in etcd (only the outer header is filled).
  return { succeeded, responses, revision: 0 };
}

async function applyOp(tw: WriteTxn, op: RequestOp, paths: Map<TxnRequest, boolean>): Promise<ResponseOp> {
  if ('range' in op) return { range: await tw.range(op.range) };
  if ('put' in op) return { put: await applyPut(tw, op.put) };
  if ('deleteRange' in op) return { deleteRange: await applyDeleteRange(tw, op.deleteRange) };
  return { txn: await applyOps(tw, op.txn, paths) };
}

/**
 * Runs a whole transaction in `tw`. Throws (before any change) on failed checks;
 * the caller ends `tw`.
 */
export async function applyTxn(ctx: WriteContext, tw: WriteTxn, req: TxnRequest): Promise<TxnResponse> {
  const paths = new Map<TxnRequest, boolean>();
  await evalPaths(ctx, tw, req, paths);
  checkRequests(ctx, tw.rev, req, paths);
  const resp = await applyOps(tw, req, paths);
  resp.revision = tw.rev;
  return resp;
}
