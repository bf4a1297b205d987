// KV service: validates requests as etcd's v3rpc layer does, then hands them to
// the server — writes through Raft, reads after a ReadIndex barrier (or at once
// when serializable).

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { validateTxn } from '../../mvcc/index.js';
import type * as mvcc from '../../mvcc/types.js';
import { ErrEmptyKey, ErrInvalidSortOption, EtcdError, Code } from '../errors.js';
import type { EtcdServer } from '../etcd-server.js';
import { deleteToPb, putToPb, rangeFromPb, rangeToPb, txnFromPb, txnToPb } from '../kv-convert.js';
import { INTERNAL_FIELD, rawBytes } from '../../pb/index.js';
import type * as pb from '../../pb/types.js';
import { unary } from './unary.js';

function checkRange(r: pb.RangeRequest): void {
  if (r.key.length === 0) throw ErrEmptyKey();
  if (r.sortOrder < 0 || r.sortOrder > 2 || r.sortTarget < 0 || r.sortTarget > 4) throw ErrInvalidSortOption();
}

function checkPut(r: pb.PutRequest): void {
  if (r.key.length === 0) throw ErrEmptyKey();
  if (r.ignoreValue && r.value.length !== 0) throw new EtcdError(Code.INVALID_ARGUMENT, 'etcdserver: value is provided');
  if (r.ignoreLease && r.lease !== 0n) throw new EtcdError(Code.INVALID_ARGUMENT, 'etcdserver: lease is provided');
}

/** The request's wire bytes, to go into the log entry unchanged (absent for in-process calls). */
function asIs(field: number, req: object): { field: number; bytes: Uint8Array } | undefined {
  const bytes = rawBytes(req);
  return bytes && { field, bytes };
}

export function kvService(server: EtcdServer, logger: Logger): grpc.UntypedServiceImplementation {
  return {
    Range: unary<pb.RangeRequest, pb.RangeResponse>(logger, async (req) => {
      checkRange(req);
      if (!req.serializable) await server.linearizableReadBarrier();
      const res = await server.store.range(rangeFromPb(req));
      return rangeToPb(res, server.header(res.revision));
    }),
    Put: unary<pb.PutRequest, pb.PutResponse>(logger, async (req) => {
      checkPut(req);
      const res = (await server.propose({ put: req }, asIs(INTERNAL_FIELD.put, req))) as mvcc.PutResponse;
      return putToPb(res, server.header(res.revision));
    }),
    DeleteRange: unary<pb.DeleteRangeRequest, pb.DeleteRangeResponse>(logger, async (req) => {
      if (req.key.length === 0) throw ErrEmptyKey();
      const res = (await server.propose({ deleteRange: req }, asIs(INTERNAL_FIELD.deleteRange, req))) as mvcc.DeleteRangeResponse;
      return deleteToPb(res, server.header(res.revision));
    }),
    Txn: unary<pb.TxnRequest, pb.TxnResponse>(logger, async (req) => {
      validateTxn(txnFromPb(req), server.cfg.maxTxnOps);
      const res = (await server.propose({ txn: req }, asIs(INTERNAL_FIELD.txn, req))) as mvcc.TxnResponse;
      return txnToPb(res, server.header(res.revision));
    }),
    Compact: unary<pb.CompactionRequest, pb.CompactionResponse>(logger, async (req) => {
      const res = (await server.propose({ compaction: req })) as { done: Promise<void> };
      if (req.physical) await res.done;
      return { header: server.header() };
    }),
  };
}
