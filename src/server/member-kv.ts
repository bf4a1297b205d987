// The KV requests on a member (the RaftKV port of api/ports.ts), validated by the adapter:
// writes are proposed through Raft and answered with the applier's result, reads
// are served from this member's store after a ReadIndex barrier (none when
// serializable). `who` is the caller when auth is on: reads are checked here, as
// etcd's doSerialize does; writes carry it in the entry's header and are checked
// when applied.

import type { AuthInfo } from '../auth/index.js';
import type { MvccStore } from '../mvcc/index.js';
import type * as mvcc from '../mvcc/types.js';
import { INTERNAL_FIELD, rawBytes, type RequestCaller } from '../pb/index.js';
import type * as pb from '../pb/types.js';
import { deleteToPb, putToPb, rangeFromPb, rangeToPb, txnFromPb, txnToPb } from './kv-convert.js';
import type { InternalRequestBody } from './proposal.js';
import type { RawRequest } from './proposer.js';
import { costPut, costTxn } from './quota.js';

/** What the KV requests need of the member (EtcdServer provides it). */
export interface KvMember {
  readonly store: MvccStore;
  readonly auth: {
    checkRange(who: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array): void;
    /** Every compare's and op's permission (auth/request-checks.ts checkTxn). */
    checkTxn(who: AuthInfo | undefined, req: pb.TxnRequest): void;
    checkStillCurrent(who: AuthInfo | undefined): void;
    /** The caller as a lookup of its credentials now would find it (a simple token asked again; auth/types.ts atLookup). */
    lookedUpNow(who: AuthInfo | undefined): AuthInfo | undefined | Promise<AuthInfo | undefined>;
  };
  /** Undefined when the write fits under the backend quota (known at once, usually). */
  readonly maintenance: { checkQuota(cost: number): Promise<void> | undefined };
  header(revision?: number): pb.ResponseHeader;
  propose(body: InternalRequestBody, raw?: RawRequest, caller?: RequestCaller): Promise<unknown>;
  linearizableReadBarrier(): Promise<void>;
}

/** The request's wire bytes, to go into the log entry unchanged (absent for in-process calls). */
function asIs(field: number, req: object): { field: number; bytes: Uint8Array } | undefined {
  const bytes = rawBytes(req);
  return bytes && { field, bytes };
}

/** etcd's isTxnReadonly: ranges only in both branches (a nested txn counts as a write). */
export function isReadOnlyTxn(req: pb.TxnRequest): boolean {
  for (const op of req.success) if (!op.requestRange) return false;
  for (const op of req.failure) if (!op.requestRange) return false;
  return true;
}

/** etcd's isTxnSerializable: every op a serializable range (so a txn of compares alone is too). */
export function isSerializableTxn(req: pb.TxnRequest): boolean {
  for (const op of req.success) if (!op.requestRange?.serializable) return false;
  for (const op of req.failure) if (!op.requestRange?.serializable) return false;
  return true;
}

/** Provides api/ports.ts's RaftKV (main.ts hands it to the adapters; the compiler checks the fit there). */
export class MemberKV {
  constructor(private readonly m: KvMember) {}

  async range(req: pb.RangeRequest, who?: AuthInfo): Promise<pb.RangeResponse> {
    if (!req.serializable) {
      await this.m.linearizableReadBarrier();
      // etcd looks the caller up only after the barrier (v3_server.go: Range, then
      // doSerialize): an auth change applied while the read waited is the caller's.
      const found = this.m.auth.lookedUpNow(who);
      who = found instanceof Promise ? await found : found; // known at once, usually: no hop
    }
    this.m.auth.checkRange(who, req.key, req.rangeEnd);
    const res = await this.m.store.range(rangeFromPb(req));
    this.m.auth.checkStillCurrent(who);
    return rangeToPb(res, this.m.header(res.revision));
  }

  async put(req: pb.PutRequest, who?: AuthInfo): Promise<pb.PutResponse> {
    const quota = this.m.maintenance.checkQuota(costPut(req));
    if (quota) await quota; // usually known at once: no hop
    const res = (await this.m.propose({ put: req }, asIs(INTERNAL_FIELD.put, req), who)) as mvcc.PutResponse;
    return putToPb(res, this.m.header(res.revision));
  }

  async deleteRange(req: pb.DeleteRangeRequest, who?: AuthInfo): Promise<pb.DeleteRangeResponse> {
    const res = (await this.m.propose({ deleteRange: req }, asIs(INTERNAL_FIELD.deleteRange, req), who)) as mvcc.DeleteRangeResponse;
    return deleteToPb(res, this.m.header(res.revision));
  }

  async txn(req: pb.TxnRequest, who?: AuthInfo): Promise<pb.TxnResponse> {
    const quota = this.m.maintenance.checkQuota(costTxn(req));
    if (quota) await quota; // usually known at once: no hop
    if (isReadOnlyTxn(req)) return this.readTxn(req, who);
    const res = (await this.m.propose({ txn: req }, asIs(INTERNAL_FIELD.txn, req), who)) as mvcc.TxnResponse;
    return txnToPb(res, this.m.header(res.revision));
  }

  /**
   * A txn of ranges is served here like a Range, not through the log (etcd 3.4's
   * Txn: the barrier unless every op is serializable, then doSerialize with
   * checkTxnAuth): it takes no log entry, and it is answered while the member
   * has a CORRUPT alarm as etcd's is.
   */
  private async readTxn(req: pb.TxnRequest, who: AuthInfo | undefined): Promise<pb.TxnResponse> {
    if (!isSerializableTxn(req)) {
      await this.m.linearizableReadBarrier();
      const found = this.m.auth.lookedUpNow(who);
      who = found instanceof Promise ? await found : found; // known at once, usually: no hop
    }
    this.m.auth.checkTxn(who, req);
    const res = await this.m.store.readTxn(txnFromPb(req));
    this.m.auth.checkStillCurrent(who);
    return txnToPb(res, this.m.header(res.revision));
  }

  /** etcd 3.4 checks no permission for a compaction (any user may compact); an invalid token still fails. */
  async compact(req: pb.CompactionRequest, who?: AuthInfo): Promise<pb.CompactionResponse> {
    const res = (await this.m.propose({ compaction: req }, undefined, who)) as { done: Promise<void> };
    if (req.physical) await res.done;
    return { header: this.m.header() };
  }
}
