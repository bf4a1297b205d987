// The one writer of server state: committed entries are applied here, one at a
// time, in log order. KV effects are applied once — entries at or below the
// store's consistent index were already applied before a restart and are skipped —
// while cluster-state entries (conf changes, member attributes) are replayed every
// time, because membership is rebuilt from the log at start-up.

import type { Logger } from 'pino';
import { decodeConfChange } from '../raft/codec.js';
import { type ConfChange, type ConfState, type Entry, EntryType } from '../raft/types.js';
import { type Lessor, toLeaseId } from '../lease/index.js';
import type { MvccStore, RequestOp } from '../mvcc/index.js';
import { decodeInternalRequest } from '../pb/index.js';
import type { InternalRaftRequest } from '../pb/types.js';
import { deleteFromPb, putFromPb, txnFromPb } from './kv-convert.js';
import type { Membership } from './membership.js';

/** What the proposer gets back: a domain response, or the error to answer with. */
export type ApplyResult = { ok: true; value: unknown } | { ok: false; error: Error };

export interface ApplierHooks {
  /** Called for every applied conf change: the Raft core must learn the new configuration. */
  applyConfChange(cc: ConfChange): ConfState;
  /** The set of members changed (after `membership` was updated): the transport follows. */
  membersChanged(): void;
  /** The proposer of request `id` (if it is this member and still waiting) gets `result`. */
  deliver(id: bigint, result: ApplyResult): void;
  /** The applied index moved forward. */
  applied(index: number): void;
  /** The empty entry a leader appends at the start of its term was applied (etcd promotes the lessor here). */
  termStarted(term: number): void;
}

export class Applier {
  private queue: Entry[] = [];
  private draining = false;
  private appliedIndex: number;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    private store: MvccStore,
    private readonly membership: Membership,
    private readonly lessor: Lessor,
    private readonly hooks: ApplierHooks,
    private readonly logger: Logger,
  ) {
    this.appliedIndex = store.consistentIndex();
  }

  get applied(): number {
    return this.appliedIndex;
  }

  /** A snapshot from the leader replaced the store: continue from what it holds. */
  setStore(store: MvccStore): void {
    this.store = store;
    if (store.consistentIndex() > this.appliedIndex) this.appliedIndex = store.consistentIndex();
  }

  /** Queue committed entries; they are applied asynchronously, strictly in order. */
  push(entries: Entry[]): void {
    for (const e of entries) this.queue.push(e);
    if (!this.draining) {
      this.draining = true;
      this.idle = new Promise((r) => (this.markIdle = r));
      void this.drain();
    }
  }

  /** Resolves when everything queued so far has been applied. */
  async drained(): Promise<void> {
    await this.idle;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        for (const e of batch) await this.applyEntry(e);
        this.hooks.applied(this.appliedIndex);
      }
    } finally {
      this.draining = false;
      this.markIdle();
    }
  }

  private async applyEntry(e: Entry): Promise<void> {
    const fresh = e.index > this.store.consistentIndex();
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      this.membership.applyConfChange(cc);
      this.hooks.applyConfChange(cc);
      this.hooks.membersChanged();
      if (fresh) this.store.setConsistentIndex(e.index);
    } else if (e.type === EntryType.Normal) {
      if (e.data.length === 0) {
        // The empty entry a new leader appends: everything of earlier terms is applied.
        if (fresh) this.store.setConsistentIndex(e.index);
        this.hooks.termStarted(e.term);
      } else {
        await this.applyRequest(e, decodeInternalRequest(e.data), fresh);
      }
    }
    if (e.index > this.appliedIndex) this.appliedIndex = e.index;
  }

  private async applyRequest(e: Entry, req: InternalRaftRequest, fresh: boolean): Promise<void> {
    const id = req.header?.ID ?? req.ID;
    if (req.clusterMemberAttrSet) {
      const attrs = req.clusterMemberAttrSet;
      this.membership.setAttributes(attrs.memberID, attrs.memberAttributes?.name ?? '', attrs.memberAttributes?.clientUrls ?? []);
      if (fresh) this.store.setConsistentIndex(e.index);
      this.hooks.deliver(id, { ok: true, value: undefined });
      return;
    }
    if (!fresh) return;
    let result: ApplyResult;
    try {
      result = { ok: true, value: await this.applyKv(req, e.index) };
    } catch (err) {
      // An apply error is a deterministic answer (same on every member), not a failure.
      result = { ok: false, error: err as Error };
      if (this.store.consistentIndex() < e.index) this.store.setConsistentIndex(e.index);
    }
    this.hooks.deliver(id, result);
  }

  private async applyKv(req: InternalRaftRequest, index: number): Promise<unknown> {
    if (req.put) return this.store.put(putFromPb(req.put), index);
    if (req.deleteRange) return this.store.deleteRange(deleteFromPb(req.deleteRange), index);
    if (req.txn) return this.store.txn(txnFromPb(req.txn), index);
    if (req.leaseGrant) {
      const granted = this.lessor.grant(toLeaseId(req.leaseGrant.ID), req.leaseGrant.TTL);
      this.store.setConsistentIndex(index); // same batch as the lease record
      return granted;
    }
    if (req.leaseRevoke) {
      // Throws (not found) before anything changes; the keys go in one revision.
      const keys = this.lessor.revoke(toLeaseId(req.leaseRevoke.ID));
      if (keys.length === 0) {
        this.store.setConsistentIndex(index);
        return undefined;
      }
      const deletes: RequestOp[] = keys.map((key) => ({ deleteRange: { key, rangeEnd: new Uint8Array(0), prevKv: false } }));
      await this.store.txn({ compare: [], success: deletes, failure: [] }, index);
      return undefined;
    }
    if (req.leaseCheckpoint) {
      for (const c of req.leaseCheckpoint.checkpoints) this.lessor.checkpoint(toLeaseId(c.ID), c.remainingTTL);
      this.store.setConsistentIndex(index);
      return undefined;
    }
    if (req.compaction) {
      const { done } = await this.store.compact(Number(req.compaction.revision), index);
      return { done };
    }
    this.logger.warn({ index }, 'applier: entry with no known request; skipped');
    this.store.setConsistentIndex(index);
    return undefined;
  }
}
