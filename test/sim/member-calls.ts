// A client request of the history format (test/checkers/history.ts), carried out
// on a member through the same entry points the gRPC adapters use (EtcdServer.kv,
// its lease coordinator), and the member's answer in the history's terms.

import type * as h from '../checkers/history.js';
import type * as pb from '../../src/pb/types.js';
import { CompareResult, CompareTarget } from '../../src/pb/types.js';
import { kvHandlers } from '../../src/server/api/kv.js';
import type { EtcdServer } from '../../src/server/etcd-server.js';
import { Code, EtcdError } from '../../src/server/errors.js';

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
const NO_BYTES = Buffer.alloc(0);

/** '\0' in the history means "every key >= key", which etcd spells as a one-byte 0 range end. */
function rangeEnd(end: string | undefined): Buffer {
  return end === undefined ? NO_BYTES : end === '\0' ? Buffer.from([0]) : enc(end);
}

export function kvOf(kv: pb.KeyValue): h.KeyValue {
  return {
    key: Buffer.from(kv.key).toString('utf8'),
    value: Buffer.from(kv.value).toString('utf8'),
    createRevision: Number(kv.createRevision),
    modRevision: Number(kv.modRevision),
    version: Number(kv.version),
    lease: kv.lease.toString(),
  };
}

function rangeReq(key: string, end: string | undefined, revision = 0, serializable = false, limit = 0): pb.RangeRequest {
  return {
    key: enc(key), rangeEnd: rangeEnd(end), limit: BigInt(limit), revision: BigInt(revision), sortOrder: 0, sortTarget: 0,
    serializable, keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
  };
}

const putReq = (key: string, value: string, lease?: string): pb.PutRequest => ({
  key: enc(key), value: enc(value), lease: lease ? BigInt(lease) : 0n, prevKv: false, ignoreValue: false, ignoreLease: false,
});

const deleteReq = (key: string, end?: string): pb.DeleteRangeRequest => ({ key: enc(key), rangeEnd: rangeEnd(end), prevKv: false });

const RESULT = { '=': CompareResult.EQUAL, '!=': CompareResult.NOT_EQUAL, '<': CompareResult.LESS, '>': CompareResult.GREATER } as const;

function compareOf(c: h.Compare): pb.Compare {
  const base = { result: RESULT[c.op], key: enc(c.key), rangeEnd: NO_BYTES };
  switch (c.target) {
    case 'value': return { ...base, target: CompareTarget.VALUE, value: enc(String(c.operand)) };
    case 'version': return { ...base, target: CompareTarget.VERSION, version: BigInt(c.operand) };
    case 'create': return { ...base, target: CompareTarget.CREATE, createRevision: BigInt(c.operand) };
    case 'mod': return { ...base, target: CompareTarget.MOD, modRevision: BigInt(c.operand) };
  }
}

function opOf(op: h.TxnOp): pb.RequestOp {
  switch (op.kind) {
    case 'put': return { requestPut: putReq(op.key, op.value, op.lease) };
    case 'delete': return { requestDeleteRange: deleteReq(op.key, op.end) };
    case 'range': return { requestRange: rangeReq(op.key, op.end) };
  }
}

function opResultOf(r: pb.ResponseOp): h.TxnOpResult {
  if (r.responsePut) return { kind: 'put' };
  if (r.responseDeleteRange) return { kind: 'delete', deleted: Number(r.responseDeleteRange.deleted) };
  if (r.responseRange) return { kind: 'range', kvs: r.responseRange.kvs.map(kvOf) };
  throw new Error('unexpected txn response op');
}

const rev = (header: pb.ResponseHeader | undefined): number => Number(header?.revision ?? 0n);

/**
 * Carries out `req` on `server` through the KV handlers the gRPC service runs
 * (request validation, then the member); an error is thrown as is (see errorResponse).
 */
export async function call(server: EtcdServer, req: h.Request): Promise<h.Response> {
  const kv = kvHandlers(server.kv, { maxTxnOps: server.cfg.maxTxnOps });
  switch (req.kind) {
    case 'range': {
      const res = await kv.Range(rangeReq(req.key, req.end, req.revision, req.serializable, req.limit));
      return { kind: 'range', revision: rev(res.header), kvs: res.kvs.map(kvOf), count: Number(res.count) };
    }
    case 'put': {
      const res = await kv.Put(putReq(req.key, req.value, req.lease));
      return { kind: 'put', revision: rev(res.header) };
    }
    case 'delete': {
      const res = await kv.DeleteRange(deleteReq(req.key, req.end));
      return { kind: 'delete', revision: rev(res.header), deleted: Number(res.deleted) };
    }
    case 'txn': {
      const res = await kv.Txn({ compare: req.compare.map(compareOf), success: req.success.map(opOf), failure: req.failure.map(opOf) });
      return { kind: 'txn', revision: rev(res.header), succeeded: res.succeeded, results: res.responses.map(opResultOf) };
    }
    case 'compact': {
      const res = await kv.Compact({ revision: BigInt(req.revision), physical: false });
      return { kind: 'compact', revision: rev(res.header) };
    }
    case 'leaseGrant': {
      const res = await server.leases.grant(BigInt(req.ttl), BigInt(req.id));
      return { kind: 'leaseGrant', revision: res.revision, id: res.id.toString(), ttl: res.ttl };
    }
    case 'leaseRevoke': {
      const res = await server.leases.revoke(BigInt(req.id));
      return { kind: 'leaseRevoke', revision: res.revision };
    }
    case 'leaseKeepAlive': {
      const res = await server.leases.renew(BigInt(req.id));
      return { kind: 'leaseKeepAlive', ttl: res.ttl };
    }
  }
}

/**
 * What a failed call means for the history. Reads have no effect, so their errors
 * are definite; a write is definitely without effect only when etcd refused it for
 * a reason of its own (compacted or future revision, no such lease, bad request).
 * Anything else (timeout, leader changed, stopped) may have taken effect.
 */
export function errorResponse(req: h.Request, err: unknown): h.Response {
  const message = err instanceof Error ? err.message : String(err);
  if (req.kind === 'range') return { kind: 'error', message, definite: true };
  if (req.kind === 'leaseKeepAlive' && err instanceof EtcdError && err.code === Code.NOT_FOUND) return { kind: 'leaseKeepAlive', ttl: 0 };
  const definite =
    err instanceof EtcdError && (err.code === Code.OUT_OF_RANGE || err.code === Code.NOT_FOUND || err.code === Code.INVALID_ARGUMENT);
  return { kind: 'error', message, definite };
}
