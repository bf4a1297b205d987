// One write revision in progress (etcd's storeTxnWrite). Every change lands in
// the index and the read overlay at once, so later ops of the same transaction
// see it, but the revision is queued for the backend only at end(), together
// with its consistent index: a flush can never persist half a transaction.
// Concurrent readers use the store's current revision, which end() bumps, so
// they never observe a transaction in progress.

import { isTombstoneKv } from './revision-records.js';
import { EMPTY_BYTES, fromSkey, keyRange, toSkey } from './keys.js';
import { rangeAt, type ReadContext } from './range.js';
import type { KeyValue, RangeRequest, RangeResponse, Event } from './types.js';

export interface WriteContext extends ReadContext {
  currentRevision(): number;
  /** Publishes a finished revision: bumps the store revision, queues it, emits events. */
  commitWrite(rev: number, changes: KeyValue[], consistentIndex: number): void;
  /** Whether a put may attach this lease (the lessor lives outside src/mvcc). */
  leaseExists(lease: bigint): boolean;
}

export class WriteTxn {
  readonly beginRev: number;
  readonly changes: KeyValue[] = [];
  private ended = false;

  constructor(readonly ctx: WriteContext) {
    this.beginRev = ctx.currentRevision();
  }

  /** The revision reads inside this transaction see (and report). */
  get rev(): number { return this.changes.length > 0 ? this.beginRev + 1 : this.beginRev; }

  range(req: RangeRequest): RangeResponse | Promise<RangeResponse> {
    return rangeAt(this.ctx, req, this.rev);
  }

  /** The live KeyValue of one key as this transaction sees it. */
  getOne(key: Uint8Array): KeyValue | undefined | Promise<KeyValue | undefined> {
    const info = this.ctx.index.get(toSkey(key))?.get(this.rev);
    if (!info) return undefined;
    const t = this.ctx.guard.enter();
    const r = this.ctx.backend.fetchLive([info.modMain], [info.modSub]);
    if (Array.isArray(r)) { this.ctx.guard.leave(t); return r[0]; }
    return r.then((kvs) => { this.ctx.guard.leave(t); return kvs[0]; }, (e) => { this.ctx.guard.leave(t); throw e; });
  }

  /** Returns the revision of the put. */
  put(key: Uint8Array, value: Uint8Array, lease: bigint): number {
    const rev = this.beginRev + 1;
    const sub = this.changes.length;
    const ki = this.ctx.index.getOrCreate(toSkey(key));
    const prev = ki.get(rev);
    const kv: KeyValue = {
      key, value, lease,
      createRevision: prev ? prev.createMain : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
    };
    this.ctx.backend.setKv(rev, sub, kv);
    ki.put(rev, sub);
    this.changes.push(kv);
    return rev;
  }

  /** Deletes every live key in the range; returns how many. */
  deleteRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): number {
    const kr = keyRange(key, rangeEnd);
    const atRev = this.rev;
    const index = this.ctx.index;
    const victims: string[] = [];
    if (kr.single) {
      if (index.get(kr.start)?.existsAt(atRev)) victims.push(kr.start);
    } else {
      index.visit(kr.start, kr.end, (ki) => { if (ki.existsAt(atRev)) victims.push(ki.skey); });
    }
    const rev = this.beginRev + 1;
    for (const skey of victims) {
      const sub = this.changes.length;
      const kv: KeyValue = { key: fromSkey(skey), createRevision: 0, modRevision: rev, version: 0, value: EMPTY_BYTES, lease: 0n };
      this.ctx.backend.setKv(rev, sub, kv);
      index.get(skey)!.tombstone(rev, sub);
      this.changes.push(kv);
    }
    return victims.length;
  }

  /** Publishes the revision (if anything changed) and records the consistent index. */
  end(consistentIndex: number): void {
    if (this.ended) return;
    this.ctx.commitWrite(this.changes.length > 0 ? this.beginRev + 1 : this.beginRev, this.changes, consistentIndex);
    this.ended = true;
  }

  /**
   * Undoes every change in the key index and the read overlay (the write
   * failed), newest first, so each undo meets the state its change left.
   * Nothing was published: end() had not run.
   */
  rollback(): void {
    if (this.ended) return;
    const rev = this.beginRev + 1;
    const index = this.ctx.index;
    for (let sub = this.changes.length - 1; sub >= 0; sub--) {
      const kv = this.changes[sub]!;
      const skey = toSkey(kv.key);
      const ki = index.get(skey)!;
      ki.undo(rev, sub, isTombstoneKv(kv));
      // A key this write created has no history left: it was never there.
      if (ki.isEmpty()) index.remove(skey);
    }
    this.changes.length = 0;
    this.ctx.backend.discardRevision(rev);
  }
}

export function toEvents(changes: KeyValue[]): Event[] {
  return changes.map((kv) => ({ type: isTombstoneKv(kv) ? 'DELETE' : 'PUT', kv }));
}
