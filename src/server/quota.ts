// The backend quota (--quota-backend-bytes), checked on the write path as etcd's
// quotaKVServer / quotaLeaseServer do (etcdserver/quota.go, api/v3rpc/quota.go):
// a Put, a Txn with puts or a LeaseGrant whose cost would take the backend to the
// quota raises a NOSPACE alarm for this member (through Raft) and fails with
// "etcdserver: mvcc: database space exceeded". Requests that add nothing (cost 0)
// always pass. The backend's size is the size of its LevelDB files, read at most
// every 100 ms near the quota and every second far from it (BackendQuota).

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
  /** Milliseconds a measured size stays fresh near the quota (default 100). */
  freshMs?: number;
  /** Milliseconds a measured size stays fresh far from the quota (default 1000). */
  farFreshMs?: number;
  now?: () => number;
}

/**
 * Measuring the size reads the LevelDB directory (readdir and a stat per file),
 * about a millisecond of the JS thread each time. Near the quota it is measured at
 * most every freshMs, as before; far from it (the size measured plus the cost of
 * every request admitted since stays under 3/4 of the quota, so even writes that
 * grew the files by more than their cost have a quarter of the quota to go) only
 * every farFreshMs.
 */
export class BackendQuota {
  private lastSize = 0;
  private measuredAt = -Infinity;
  /** Cost of the requests admitted since the last measurement. */
  private admitted = 0;
  private measuring: Promise<number> | undefined;

  constructor(private readonly p: QuotaPorts) {}

  private now(): number {
    return (this.p.now ?? Date.now)();
  }

  /** The last measured size, if it is fresh enough for a request of this cost. */
  private knownSize(cost: number): number | undefined {
    const age = this.now() - this.measuredAt;
    if (age < (this.p.freshMs ?? 100)) return this.lastSize;
    const far = (this.lastSize + this.admitted + cost) * 4 < this.p.quotaBytes * 3;
    return far && age < (this.p.farFreshMs ?? 1000) ? this.lastSize : undefined;
  }

  private measure(): Promise<number> {
    this.measuring ??= this.p.size().then(
      (s) => {
        this.lastSize = s;
        this.measuredAt = this.now();
        this.admitted = 0;
        return s;
      },
    ).finally(() => (this.measuring = undefined));
    return this.measuring;
  }

  private fits(size: number, cost: number): boolean {
    if (size + cost >= this.p.quotaBytes) return false;
    this.admitted += cost;
    return true;
  }

  /** Whether a request of this cost fits (etcd's backendQuota.Available). */
  async available(cost: number): Promise<boolean> {
    if (this.p.quotaBytes < 0 || cost === 0) return true;
    const known = this.knownSize(cost);
    return this.fits(known ?? (await this.measure()), cost);
  }

  /**
   * Rejects with etcd's ErrNoSpace (after raising the alarm) when a request of this
   * cost does not fit. Undefined when it fits and that is known without waiting
   * (the usual case: no promise on the write path).
   */
  check(cost: number): Promise<void> | undefined {
    if (this.p.quotaBytes < 0 || cost === 0) return undefined;
    const known = this.knownSize(cost);
    if (known !== undefined) return this.fits(known, cost) ? undefined : this.refuse();
    return this.measure().then((size) => (this.fits(size, cost) ? undefined : this.refuse()));
  }

  private async refuse(): Promise<void> {
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
  check: (cost: number) => Promise<void> | undefined,
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
