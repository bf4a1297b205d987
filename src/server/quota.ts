// The backend quota (--quota-backend-bytes), checked on the write path as etcd's
// quotaKVServer / quotaLeaseServer do (etcdserver/quota.go, api/v3rpc/quota.go):
// a Put, a Txn with puts or a LeaseGrant whose cost would take the backend to the
// quota raises a NOSPACE alarm for this member (through Raft) and fails with
// "etcdserver: mvcc: database space exceeded". Requests that add nothing (cost 0)
// always pass. The backend's size is the size of its LevelDB files, read at most
// every 100 ms.

import type { Logger } from 'pino';
import type * as pb from '../pb/types.js';
import { ErrNoSpace } from './errors.js';

/** etcd's per-key and per-lease overheads in the cost estimate. */
export const KV_OVERHEAD = 256;
export const LEASE_OVERHEAD = 64;
/** etcd's MaxQuotaBytes: larger quotas work but are warned about. */
export const MAX_QUOTA_BYTES = 8 * 1024 * 1024 * 1024;

export const costPut = (r: pb.PutRequest): number => KV_OVERHEAD + r.key.length + r.value.length;

/** The larger branch's puts (top level, as etcd counts). */
export function costTxn(r: pb.TxnRequest): number {
  const branch = (ops: pb.RequestOp[]): number => ops.reduce((n, op) => n + (op.requestPut ? costPut(op.requestPut) : 0), 0);
  return Math.max(branch(r.success), branch(r.failure));
}

export interface QuotaPorts {
  /** Bytes; negative disables the quota. */
  quotaBytes: number;
  /** The backend's size on disk now. */
  size(): Promise<number>;
  /** Proposes ACTIVATE NOSPACE for this member (its outcome does not change the answer). */
  raiseNoSpace(): Promise<unknown>;
  /** Milliseconds a measured size stays fresh (default 100). */
  freshMs?: number;
  now?: () => number;
}

export class BackendQuota {
  private lastSize = 0;
  private measuredAt = -Infinity;
  private measuring: Promise<number> | undefined;

  constructor(private readonly p: QuotaPorts) {}

  private async currentSize(): Promise<number> {
    const now = (this.p.now ?? Date.now)();
    if (now - this.measuredAt < (this.p.freshMs ?? 100)) return this.lastSize;
    this.measuring ??= this.p.size().then(
      (s) => {
        this.lastSize = s;
        this.measuredAt = (this.p.now ?? Date.now)();
        return s;
      },
    ).finally(() => (this.measuring = undefined));
    return this.measuring;
  }

  /** Whether a request of this cost fits (etcd's backendQuota.Available). */
  async available(cost: number): Promise<boolean> {
    if (this.p.quotaBytes < 0 || cost === 0) return true;
    return (await this.currentSize()) + cost < this.p.quotaBytes;
  }

  /** Throws etcd's ErrNoSpace (after raising the alarm) when a request of this cost does not fit. */
  async check(cost: number): Promise<void> {
    if (await this.available(cost)) return;
    await this.p.raiseNoSpace().catch(() => undefined);
    throw ErrNoSpace();
  }
}

/** etcd's start-up lines about the quota (etcdserver/quota.go NewBackendQuota). */
export function logBackendQuota(cfg: { quotaBackendBytes: number }, logger: Logger): void {
  const q = cfg.quotaBackendBytes;
  if (q < 0) return logger.info({ 'quota-name': 'v3-applier', 'quota-size-bytes': q }, 'disabled backend quota');
  if (q > MAX_QUOTA_BYTES) {
    logger.warn(
      { 'quota-name': 'v3-applier', 'quota-size-bytes': q, 'quota-maximum-size-bytes': MAX_QUOTA_BYTES },
      'quota exceeds the maximum value',
    );
  }
  // config.ts turns 0 (etcd's "use the default") into the default's value.
  const isDefault = q === 2 * 1024 * 1024 * 1024;
  logger.info({ 'quota-name': 'v3-applier', 'quota-size-bytes': q }, isDefault ? 'enabled backend quota with default value' : 'enabled backend quota');
}

/**
 * The lease API with etcd's quotaLeaseServer in front of LeaseGrant (cost: 64
 * bytes); every other method is the lease API's own.
 */
export function withGrantQuota<L extends { grant(ttl: bigint, id: bigint): Promise<unknown> }>(
  leases: L,
  check: (cost: number) => Promise<void>,
): L {
  return new Proxy(leases, {
    get(target, prop) {
      if (prop === 'grant') {
        return async (ttl: bigint, id: bigint) => {
          await check(LEASE_OVERHEAD);
          return target.grant(ttl, id);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
