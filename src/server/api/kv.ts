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
import type { AuthInfo } from '../../auth/index.js';
import { OPEN_GATE, withCaller } from './caller.js';
import type { ApiLimits, AuthGate, RaftKV } from './ports.js';
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

/** `who`: the caller, as AuthGate.identify found it (undefined with auth off). */
export interface KvHandlers {
  Range(req: pb.RangeRequest, who?: AuthInfo): Promise<pb.RangeResponse>;
  Put(req: pb.PutRequest, who?: AuthInfo): Promise<pb.PutResponse>;
  DeleteRange(req: pb.DeleteRangeRequest, who?: AuthInfo): Promise<pb.DeleteRangeResponse>;
  Txn(req: pb.TxnRequest, who?: AuthInfo): Promise<pb.TxnResponse>;
  Compact(req: pb.CompactionRequest, who?: AuthInfo): Promise<pb.CompactionResponse>;
}

/** Each KV RPC: validate, then the port. */
export function kvHandlers(kv: RaftKV, limits: Pick<ApiLimits, 'maxTxnOps'>): KvHandlers {
  return {
    Range: async (req, who) => {
      checkRange(req);
      return kv.range(req, who);
    },
    // Not async: the port's own promise, not one more wrapped around it (one per put).
    Put: (req, who) => {
      try {
        checkPut(req);
        return kv.put(req, who);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    DeleteRange: async (req, who) => {
      if (req.key.length === 0) throw ErrEmptyKey();
      return kv.deleteRange(req, who);
    },
    Txn: async (req, who) => {
      validateTxn(txnFromPb(req), limits.maxTxnOps);
      return kv.txn(req, who);
    },
    Compact: async (req, who) => kv.compact(req, who),
  };
}

export function kvService(
  kv: RaftKV,
  limits: Pick<ApiLimits, 'maxTxnOps'>,
  logger: Logger,
  gate: AuthGate = OPEN_GATE,
): ServiceImplementation {
  const h = kvHandlers(kv, limits);
  return {
    Range: unary<pb.RangeRequest, pb.RangeResponse>(logger, withCaller(gate, h.Range)),
    Put: unary<pb.PutRequest, pb.PutResponse>(logger, withCaller(gate, h.Put)),
    DeleteRange: unary<pb.DeleteRangeRequest, pb.DeleteRangeResponse>(logger, withCaller(gate, h.DeleteRange)),
    Txn: unary<pb.TxnRequest, pb.TxnResponse>(logger, withCaller(gate, h.Txn)),
    Compact: unary<pb.CompactionRequest, pb.CompactionResponse>(logger, withCaller(gate, h.Compact)),
  };
}
