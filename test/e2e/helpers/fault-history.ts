// Records what the fault suite's clients saw in the checkers' format
// (test/checkers/history.ts): every call with its real call and return times
// (ms since the recorder started, performance.now), its request, and its
// response or error. An error that proves the request had no effect is
// `definite`; any other (a deadline, a lost connection, a timeout inside the
// member) leaves the outcome unknown and the return time Infinity.

import type * as grpc from '@grpc/grpc-js';
import type * as pb from '../../../src/pb/types.js';
import { CompareResult, CompareTarget } from '../../../src/pb/types.js';
import type { Compare, KeyValue, Operation, Request, Response, TxnOp, TxnOpResult, WatchEvent, WatchRecord } from '../../checkers/history.js';
import type { KvClient } from './kv-client.js';
import type { LeaseClient } from './lease-client.js';

const utf8 = (b: Buffer | Uint8Array | undefined): string => (b ? Buffer.from(b).toString('utf8') : '');
const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

export function toKeyValue(kv: pb.KeyValue): KeyValue {
  return {
    key: utf8(kv.key),
    value: utf8(kv.value),
    createRevision: Number(kv.createRevision),
    modRevision: Number(kv.modRevision),
    version: Number(kv.version),
    lease: kv.lease.toString(),
  };
}

export function toWatchEvent(e: pb.Event): WatchEvent {
  const kv = toKeyValue(e.kv!);
  if (e.type === 1) {
    return { type: 'delete', kv: { ...kv, value: '', createRevision: 0, version: 0, lease: '0' }, ...(e.prevKv ? { prevKv: toKeyValue(e.prevKv) } : {}) };
  }
  return { type: 'put', kv, ...(e.prevKv ? { prevKv: toKeyValue(e.prevKv) } : {}) };
}

/** rangeEnd as etcd takes it: omitted = one key, '\0' = every key from `key` on. */
function rangeEnd(end: string | undefined): Buffer {
  if (end === undefined) return Buffer.alloc(0);
  return end === '\0' ? Buffer.from([0]) : bytes(end);
}

const COMPARE_OP: Record<Compare['op'], number> = { '=': CompareResult.EQUAL, '!=': CompareResult.NOT_EQUAL, '<': CompareResult.LESS, '>': CompareResult.GREATER };

function toCompare(c: Compare): pb.Encodable<pb.Compare> {
  const base = { key: bytes(c.key), result: COMPARE_OP[c.op] };
  switch (c.target) {
    case 'value':
      return { ...base, target: CompareTarget.VALUE, value: bytes(String(c.operand)) };
    case 'version':
      return { ...base, target: CompareTarget.VERSION, version: BigInt(c.operand) };
    case 'create':
      return { ...base, target: CompareTarget.CREATE, createRevision: BigInt(c.operand) };
    case 'mod':
      return { ...base, target: CompareTarget.MOD, modRevision: BigInt(c.operand) };
  }
}

function toRequestOp(op: TxnOp): pb.Encodable<pb.RequestOp> {
  switch (op.kind) {
    case 'put':
      return { requestPut: { key: bytes(op.key), value: bytes(op.value), lease: BigInt(op.lease ?? '0') } };
    case 'delete':
      return { requestDeleteRange: { key: bytes(op.key), rangeEnd: rangeEnd(op.end) } };
    case 'range':
      return { requestRange: { key: bytes(op.key), rangeEnd: rangeEnd(op.end) } };
  }
}

function toOpResult(r: pb.ResponseOp): TxnOpResult {
  if (r.responsePut) return { kind: 'put' };
  if (r.responseDeleteRange) return { kind: 'delete', deleted: Number(r.responseDeleteRange.deleted) };
  return { kind: 'range', kvs: (r.responseRange?.kvs ?? []).map(toKeyValue) };
}

/**
 * Errors that prove the request had no effect: etcd refused it for the state it
 * found (the checker replays these), or before proposing it, or the connection
 * was never made (nothing was sent).
 */
const DEFINITE = [
  'required revision has been compacted',
  'required revision is a future revision',
  'requested lease not found',
  'lease already exists',
  'too many requests',
  'duplicate key given in txn request',
  'No connection established',
  'ECONNREFUSED',
];

export function isDefiniteError(err: unknown): boolean {
  const e = err as Partial<grpc.ServiceError>;
  const text = `${e.details ?? ''} ${e.message ?? ''}`;
  if (e.code === 3 /* INVALID_ARGUMENT */) return true;
  return DEFINITE.some((d) => text.includes(d));
}

/** The clients a recorder calls through: one member's KV and Lease services. */
export interface MemberClients {
  member: string;
  kv: KvClient;
  lease: LeaseClient;
}

export class HistoryRecorder {
  readonly operations: Operation[] = [];
  readonly watches: WatchRecord[] = [];
  private nextOp = 0;
  private nextWatch = 0;
  private readonly t0 = performance.now();

  now(): number {
    return performance.now() - this.t0;
  }

  newWatchId(): number {
    return this.nextWatch++;
  }

  /** Issues `request` through `c` as `client` and records it; resolves with the recorded response (never rejects). */
  async call(client: number, c: MemberClients, request: Request): Promise<Response> {
    const call = this.now();
    let response: Response;
    let ret: number;
    try {
      response = await issue(c, request);
      ret = this.now();
    } catch (err) {
      const definite = isDefiniteError(err);
      response = { kind: 'error', message: (err as grpc.ServiceError).details || (err as Error).message, definite };
      ret = definite ? this.now() : Infinity;
    }
    this.operations.push({ id: this.nextOp++, client, member: c.member, call, return: ret, request, response });
    return response;
  }
}

async function issue(c: MemberClients, r: Request): Promise<Response> {
  switch (r.kind) {
    case 'range': {
      const res = await c.kv.range({
        key: bytes(r.key),
        rangeEnd: rangeEnd(r.end),
        revision: BigInt(r.revision ?? 0),
        serializable: r.serializable ?? false,
        limit: BigInt(r.limit ?? 0),
      });
      return { kind: 'range', revision: Number(res.header!.revision), kvs: res.kvs.map(toKeyValue), count: Number(res.count) };
    }
    case 'put': {
      const res = await c.kv.put(r.key, r.value, { lease: BigInt(r.lease ?? '0') });
      return { kind: 'put', revision: Number(res.header!.revision) };
    }
    case 'delete': {
      const res = await c.kv.deleteRange({ key: bytes(r.key), rangeEnd: rangeEnd(r.end) });
      return { kind: 'delete', revision: Number(res.header!.revision), deleted: Number(res.deleted) };
    }
    case 'txn': {
      const res = await c.kv.txn({ compare: r.compare.map(toCompare), success: r.success.map(toRequestOp), failure: r.failure.map(toRequestOp) });
      return { kind: 'txn', revision: Number(res.header!.revision), succeeded: res.succeeded, results: res.responses.map(toOpResult) };
    }
    case 'compact': {
      const res = await c.kv.compact(r.revision);
      return { kind: 'compact', revision: Number(res.header!.revision) };
    }
    case 'leaseGrant': {
      const res = await c.lease.grant(r.ttl, BigInt(r.id));
      return { kind: 'leaseGrant', revision: Number(res.header!.revision), id: res.ID.toString(), ttl: Number(res.TTL) };
    }
    case 'leaseRevoke': {
      const res = await c.lease.revoke(BigInt(r.id));
      return { kind: 'leaseRevoke', revision: Number(res.header!.revision) };
    }
    case 'leaseKeepAlive': {
      const res = await c.lease.keepAliveOnce(BigInt(r.id));
      return { kind: 'leaseKeepAlive', ttl: Number(res.TTL) };
    }
  }
}

/** Histories hold Infinity (unknown return); JSON has no Infinity, so it is written as the string "Infinity". */
export function historyJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), 1);
}
