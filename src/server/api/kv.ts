// KV service: validates requests as etcd's v3rpc layer does, then hands them to
// the RaftKV port — writes through Raft, reads after a ReadIndex barrier (or at
// once when serializable). kvHandlers is the one implementation per RPC: the gRPC
// service wraps it here, the /v3 JSON gateway maps JSON onto the same requests.

import type { Logger } from 'pino';
import { validateTxn } from '../../mvcc/index.js';
import { ErrEmptyKey, ErrInvalidSortOption, EtcdError, Code } from '../errors.js';
import { txnFromPb } from '../kv-convert.js';
import type * as pb from '../../pb/types.js';
import type { ServiceImplementation } from '../grpc/types.js';
import type { ApiLimits, RaftKV } from './ports.js';
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

export interface KvHandlers {
  Range(req: pb.RangeRequest): Promise<pb.RangeResponse>;
  Put(req: pb.PutRequest): Promise<pb.PutResponse>;
  DeleteRange(req: pb.DeleteRangeRequest): Promise<pb.DeleteRangeResponse>;
  Txn(req: pb.TxnRequest): Promise<pb.TxnResponse>;
  Compact(req: pb.CompactionRequest): Promise<pb.CompactionResponse>;
}

/** Each KV RPC: validate, then the port. */
export function kvHandlers(kv: RaftKV, limits: Pick<ApiLimits, 'maxTxnOps'>): KvHandlers {
  return {
    Range: async (req) => {
      checkRange(req);
      return kv.range(req);
    },
    Put: async (req) => {
      checkPut(req);
      return kv.put(req);
    },
    DeleteRange: async (req) => {
      if (req.key.length === 0) throw ErrEmptyKey();
      return kv.deleteRange(req);
    },
    Txn: async (req) => {
      validateTxn(txnFromPb(req), limits.maxTxnOps);
      return kv.txn(req);
    },
    Compact: async (req) => kv.compact(req),
  };
}

export function kvService(kv: RaftKV, limits: Pick<ApiLimits, 'maxTxnOps'>, logger: Logger): ServiceImplementation {
  const h = kvHandlers(kv, limits);
  return {
    Range: unary<pb.RangeRequest, pb.RangeResponse>(logger, (req) => h.Range(req)),
    Put: unary<pb.PutRequest, pb.PutResponse>(logger, (req) => h.Put(req)),
    DeleteRange: unary<pb.DeleteRangeRequest, pb.DeleteRangeResponse>(logger, (req) => h.DeleteRange(req)),
    Txn: unary<pb.TxnRequest, pb.TxnResponse>(logger, (req) => h.Txn(req)),
    Compact: unary<pb.CompactionRequest, pb.CompactionResponse>(logger, (req) => h.Compact(req)),
  };
}
