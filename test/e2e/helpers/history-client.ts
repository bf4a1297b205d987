// Runs one history Request (test/checkers/history.ts) against a real member
// over gRPC and gives the Response in the history's form, so e2e tests can
// record what a client saw and hand it to the checkers. An error is definite
// (the request surely had no effect) unless it is a deadline, an unavailable
// member or a lost connection.

import * as grpc from '@grpc/grpc-js';
import type * as pb from '../../../src/pb/types.js';
import { CompareResult, CompareTarget } from '../../../src/pb/types.js';
import type { Compare, KeyValue, Request, Response, TxnOp, TxnOpResult } from '../../checkers/history.js';
import { KvClient } from './kv-client.js';
import { LeaseClient } from './lease-client.js';

const buf = (s: string) => Buffer.from(s, 'utf8');
const endOf = (end: string | undefined) => (end === undefined ? Buffer.alloc(0) : end === '\0' ? Buffer.from([0]) : buf(end));
const leaseOf = (lease: string | undefined) => BigInt(lease || '0');

export function kvFromPb(kv: pb.KeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    createRevision: Number(kv.createRevision),
    modRevision: Number(kv.modRevision),
    version: Number(kv.version),
    lease: kv.lease.toString(),
  };
}

const OPS = { '=': CompareResult.EQUAL, '!=': CompareResult.NOT_EQUAL, '<': CompareResult.LESS, '>': CompareResult.GREATER } as const;

function compareToPb(c: Compare): pb.Encodable<pb.Compare> {
  const base = { key: buf(c.key), result: OPS[c.op] };
  switch (c.target) {
    case 'value': return { ...base, target: CompareTarget.VALUE, value: buf(String(c.operand)) };
    case 'version': return { ...base, target: CompareTarget.VERSION, version: BigInt(c.operand) };
    case 'create': return { ...base, target: CompareTarget.CREATE, createRevision: BigInt(c.operand) };
    case 'mod': return { ...base, target: CompareTarget.MOD, modRevision: BigInt(c.operand) };
  }
}

function txnOpToPb(op: TxnOp): pb.Encodable<pb.RequestOp> {
  switch (op.kind) {
    case 'put': return { requestPut: { key: buf(op.key), value: buf(op.value), lease: leaseOf(op.lease) } };
    case 'delete': return { requestDeleteRange: { key: buf(op.key), rangeEnd: endOf(op.end) } };
    case 'range': return { requestRange: { key: buf(op.key), rangeEnd: endOf(op.end) } };
  }
}

function txnResultFromPb(r: pb.ResponseOp): TxnOpResult {
  if (r.responsePut) return { kind: 'put' };
  if (r.responseDeleteRange) return { kind: 'delete', deleted: Number(r.responseDeleteRange.deleted) };
  return { kind: 'range', kvs: (r.responseRange?.kvs ?? []).map(kvFromPb) };
}

const rev = (h: pb.ResponseHeader | undefined) => Number(h?.revision ?? 0);

/** Whether a failed call may still have taken effect. */
export function errorIsDefinite(err: unknown): boolean {
  const code = (err as grpc.ServiceError).code;
  return code !== grpc.status.DEADLINE_EXCEEDED && code !== grpc.status.UNAVAILABLE && code !== grpc.status.CANCELLED
    && code !== grpc.status.UNKNOWN && code !== undefined;
}

export class HistoryClient {
  readonly kv: KvClient;
  readonly lease: LeaseClient;

  constructor(endpoint: string, timeoutMs = 10_000) {
    this.kv = new KvClient(endpoint, { timeoutMs });
    this.lease = new LeaseClient(endpoint, { timeoutMs });
  }

  async run(req: Request): Promise<Response> {
    try {
      return await this.send(req);
    } catch (err) {
      const e = err as grpc.ServiceError;
      return { kind: 'error', message: e.details ?? e.message, definite: errorIsDefinite(err) };
    }
  }

  private async send(req: Request): Promise<Response> {
    switch (req.kind) {
      case 'range': {
        const r = await this.kv.range({ key: buf(req.key), rangeEnd: endOf(req.end), revision: BigInt(req.revision ?? 0), serializable: !!req.serializable, limit: BigInt(req.limit ?? 0) });
        return { kind: 'range', revision: rev(r.header), kvs: r.kvs.map(kvFromPb), count: Number(r.count) };
      }
      case 'put': {
        const r = await this.kv.put(req.key, req.value, { lease: leaseOf(req.lease) });
        return { kind: 'put', revision: rev(r.header) };
      }
      case 'delete': {
        const r = await this.kv.deleteRange({ key: buf(req.key), rangeEnd: endOf(req.end) });
        return { kind: 'delete', revision: rev(r.header), deleted: Number(r.deleted) };
      }
      case 'txn': {
        const r = await this.kv.txn({ compare: req.compare.map(compareToPb), success: req.success.map(txnOpToPb), failure: req.failure.map(txnOpToPb) });
        return { kind: 'txn', revision: rev(r.header), succeeded: r.succeeded, results: r.responses.map(txnResultFromPb) };
      }
      case 'compact': {
        const r = await this.kv.compact(req.revision);
        return { kind: 'compact', revision: rev(r.header) };
      }
      case 'leaseGrant': {
        const r = await this.lease.grant(req.ttl, BigInt(req.id));
        return { kind: 'leaseGrant', revision: rev(r.header), id: r.ID.toString(), ttl: Number(r.TTL) };
      }
      case 'leaseRevoke': {
        const r = await this.lease.revoke(BigInt(req.id));
        return { kind: 'leaseRevoke', revision: rev(r.header) };
      }
      case 'leaseKeepAlive': {
        const r = await this.lease.keepAliveOnce(BigInt(req.id));
        return { kind: 'leaseKeepAlive', ttl: Number(r.TTL) };
      }
    }
  }

  close(): void {
    this.kv.close();
    this.lease.close();
  }
}
