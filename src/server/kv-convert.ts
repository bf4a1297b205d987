// Conversions between the wire shapes (64-bit fields as bigint, oneofs as optional
// members) and the MVCC store's domain types (revisions as numbers, lease ids as
// bigint). Revisions stay below 2^53 for the life of any real cluster.

import type * as pb from '../pb/types.js';
import type * as mvcc from '../mvcc/types.js';

const EMPTY = new Uint8Array(0);

function num(v: bigint | undefined): number {
  return v === undefined ? 0 : Number(v);
}

export function rangeFromPb(r: pb.RangeRequest): mvcc.RangeRequest {
  return {
    key: r.key,
    rangeEnd: r.rangeEnd,
    limit: num(r.limit),
    revision: num(r.revision),
    sortOrder: r.sortOrder,
    sortTarget: r.sortTarget,
    serializable: r.serializable,
    keysOnly: r.keysOnly,
    countOnly: r.countOnly,
    minModRevision: num(r.minModRevision),
    maxModRevision: num(r.maxModRevision),
    minCreateRevision: num(r.minCreateRevision),
    maxCreateRevision: num(r.maxCreateRevision),
  };
}

export function putFromPb(r: pb.PutRequest): mvcc.PutRequest {
  return {
    key: r.key,
    value: r.value,
    lease: r.lease,
    prevKv: r.prevKv,
    ignoreValue: r.ignoreValue,
    ignoreLease: r.ignoreLease,
  };
}

export function deleteFromPb(r: pb.DeleteRangeRequest): mvcc.DeleteRangeRequest {
  return { key: r.key, rangeEnd: r.rangeEnd, prevKv: r.prevKv };
}

function compareFromPb(c: pb.Compare): mvcc.Compare {
  return {
    result: c.result,
    target: c.target,
    key: c.key,
    rangeEnd: c.rangeEnd,
    version: num(c.version),
    createRevision: num(c.createRevision),
    modRevision: num(c.modRevision),
    value: c.value ?? EMPTY,
    lease: c.lease ?? 0n,
  };
}

function opFromPb(op: pb.RequestOp): mvcc.RequestOp {
  if (op.requestRange) return { range: rangeFromPb(op.requestRange) };
  if (op.requestPut) return { put: putFromPb(op.requestPut) };
  if (op.requestDeleteRange) return { deleteRange: deleteFromPb(op.requestDeleteRange) };
  if (op.requestTxn) return { txn: txnFromPb(op.requestTxn) };
  // etcd treats an op with no request as an empty range on the empty key.
  return { range: rangeFromPb({ key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) } as pb.RangeRequest) };
}

export function txnFromPb(r: pb.TxnRequest): mvcc.TxnRequest {
  return {
    compare: r.compare.map(compareFromPb),
    success: r.success.map(opFromPb),
    failure: r.failure.map(opFromPb),
  };
}

export function kvToPb(kv: mvcc.KeyValue): pb.KeyValue {
  return {
    key: kv.key as Buffer,
    createRevision: BigInt(kv.createRevision),
    modRevision: BigInt(kv.modRevision),
    version: BigInt(kv.version),
    value: kv.value as Buffer,
    lease: kv.lease,
  };
}

type Header = pb.ResponseHeader;

export function rangeToPb(r: mvcc.RangeResponse, header: Header): pb.RangeResponse {
  return { header, kvs: r.kvs.map(kvToPb), more: r.more, count: BigInt(r.count) };
}

export function putToPb(r: mvcc.PutResponse, header: Header): pb.PutResponse {
  return { header, prevKv: r.prevKv ? kvToPb(r.prevKv) : undefined };
}

export function deleteToPb(r: mvcc.DeleteRangeResponse, header: Header): pb.DeleteRangeResponse {
  return { header, deleted: BigInt(r.deleted), prevKvs: r.prevKvs.map(kvToPb) };
}

/**
 * Responses nested in a txn carry only a revision in their header, as etcd's do:
 * each op's own (a read before the txn's first write reports the revision before
 * it, a write reports the new one), and a nested txn's header is empty.
 */
export function txnToPb(r: mvcc.TxnResponse, header: Header): pb.TxnResponse {
  const inner = (revision: number): Header => ({ clusterId: 0n, memberId: 0n, revision: BigInt(revision), raftTerm: 0n });
  return {
    header,
    succeeded: r.succeeded,
    responses: r.responses.map((op): pb.ResponseOp => {
      if ('range' in op) return { responseRange: rangeToPb(op.range, inner(op.range.revision)) };
      if ('put' in op) return { responsePut: putToPb(op.put, inner(op.put.revision)) };
      if ('deleteRange' in op) return { responseDeleteRange: deleteToPb(op.deleteRange, inner(op.deleteRange.revision)) };
      return { responseTxn: txnToPb(op.txn, inner(op.txn.revision)) };
    }),
  };
}
