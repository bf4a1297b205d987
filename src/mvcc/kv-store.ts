// The MVCC store: revisions, the in-memory key index, the LevelDB backend,
// compaction and hashing, behind the API the applier and the read path use.
//
// Concurrency model (single JS thread): write methods are called one at a time
// by the applier, in log order. Each write mutates the index synchronously and
// publishes its revision in one synchronous step (WriteTxn.end), so a read —
// which resolves its revision and walks the index synchronously — always sees a
// whole revision or none of it. Values are then fetched asynchronously; they are
// immutable per revision, and physical compaction waits for reads that might
// still need what it deletes (ReadGuard).

import { Backend } from './backend.js';
import { hashBackend } from './backend-hash.js';
import { META_FINISHED_COMPACT, META_SCHEDULED_COMPACT } from './keyspace.js';
import { openStoreView, type StoreView } from './store-view.js';
import { compactIndex, physicalCompact, ReadGuard, type KeepSet } from './compaction.js';
import { rm } from 'node:fs/promises';
import { errClosed, errCompacted, errFutureRev, MvccError, TxnValidationError } from './errors.js';
import { hashByRev } from './hash.js';
import { rangeAt } from './range.js';
import { StateImageError } from './state-format.js';
import { exportImage, restoreImage, type ExportOptions, type RestoreOptions } from './state-transfer.js';
import { recoverStoreDir } from './store-dir.js';
import { readU64, u64Bytes } from './revision.js';
import { rebuildKeyIndex } from './index-rebuild.js';
import { TreeIndex } from './tree-index.js';
import { applyDeleteRange, applyPut, applyTxn } from './txn-apply.js';
import { readTxn } from './txn-read.js';
import { validatePut } from './txn.js';
import type {
  DeleteRangeRequest, DeleteRangeResponse, Event, KeyValue, MvccLogger, MvccOptions, PutRequest, PutResponse,
  RangeRequest, RangeResponse, TxnRequest, TxnResponse,
} from './types.js';
import { toEvents, WriteTxn, type WriteContext } from './write-txn.js';
import { FAILPOINTS_ON, failpointAsync } from '../util/failpoints.js';

export type EventListener = (events: Event[], revision: number) => void;

export interface HashKVResult {
  hash: number;
  /** etcd reports -1 when nothing was ever compacted. */
  compactRevision: number;
  /** Store revision when the hash was taken (response header). */
  revision: number;
  /** The revision the hash covers (etcd 3.6 hash_revision). */
  hashRevision: number;
}

export class MvccStore implements WriteContext {
  readonly index = new TreeIndex();
  readonly guard = new ReadGuard();
  private currentRev = 1;
  /** -1 until the first compaction, as in etcd. */
  private compactMainRev = -1;
  private readonly listeners = new Set<EventListener>();
  private compactChain: Promise<void> = Promise.resolve();
  private closing = false;
  private closed = false;
  private readonly logger: MvccLogger | undefined;
  private leaseCheck: (lease: bigint) => boolean = () => true;

  private constructor(readonly backend: Backend, private readonly opts: Required<Omit<MvccOptions, 'logger' | 'openDb' | 'onStorageFailure' | 'recoverDir'>> & MvccOptions) {
    this.logger = opts.logger;
  }

  static async open(dir: string, opts: MvccOptions = {}): Promise<MvccStore> {
    const full = {
      flushIntervalMs: 100, flushMaxOps: 10_000, compactBatchLimit: 1000, compactSleepMs: 10, cacheBytes: 4 << 20, unsafeNoFsync: false, ...opts,
    };
    // Finish a directory swap (state transfer) that a crash interrupted, before
    // LevelDB would create an empty store where the real one is about to land.
    if (opts.recoverDir ?? true) await recoverStoreDir(dir, { removeTemp: false });
    const backend = await Backend.open(dir, {
      flushIntervalMs: full.flushIntervalMs, flushMaxOps: full.flushMaxOps, cacheBytes: full.cacheBytes, logger: opts.logger,
      openDb: opts.openDb, onFailure: opts.onStorageFailure, unsafeNoFsync: full.unsafeNoFsync,
    });
    const store = new MvccStore(backend, full);
    await store.restore();
    return store;
  }

  // --- start-up ---------------------------------------------------------------

  private async restore(): Promise<void> {
    const finished = await this.backend.getRaw(META_FINISHED_COMPACT);
    const scheduled = await this.backend.getRaw(META_SCHEDULED_COMPACT);
    if (finished) this.compactMainRev = readU64(finished);
    const scheduledRev = scheduled ? readU64(scheduled) : 0;

    const maxMain = await rebuildKeyIndex(this.backend.db, this.index);
    // Compaction may have removed the newest records (tombstones), so the compact
    // revisions bound the current revision from below too.
    this.currentRev = Math.max(maxMain, this.compactMainRev, scheduledRev, 1);
    this.logger?.info({ revision: this.currentRev, compactRevision: this.compactMainRev, keys: this.index.size }, 'mvcc: restored');

    if (scheduled && scheduledRev > this.compactMainRev) {
      this.logger?.info({ scheduledCompactRevision: scheduledRev }, 'mvcc: resuming scheduled compaction');
      this.compactMainRev = scheduledRev;
      const keep = compactIndex(this.index, scheduledRev);
      void this.schedulePhysical(scheduledRev, keep, this.guard.barrier());
    }
  }

  // --- state ------------------------------------------------------------------

  currentRevision(): number { return this.currentRev; }
  compactRevision(): number { return this.compactMainRev; }
  compactRev(): number { return this.compactMainRev; }
  consistentIndex(): number { return this.backend.consistentIndex(); }

  /** The consistent index a power loss cannot take back (see sync()). */
  durableConsistentIndex(): number { return this.backend.durableConsistentIndex(); }

  /** Ends the entry at index `i` (see Backend.setConsistentIndex). Throws StorageFailure once storage failed. */
  setConsistentIndex(i: number): void { this.backend.setConsistentIndex(i); }

  /**
   * Writes everything applied so far in a synced batch; resolves with the durable
   * consistent index. For snapshots: never on the apply path.
   */
  async sync(): Promise<number> {
    await this.backend.flush({ sync: true });
    return this.backend.durableConsistentIndex();
  }

  /** Puts with a lease are refused (requested lease not found) unless `check` says it exists. */
  setLeaseChecker(check: (lease: bigint) => boolean): void { this.leaseCheck = check; }

  /** WriteContext. */
  leaseExists(lease: bigint): boolean { return this.leaseCheck(lease); }

  onEvents(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private checkOpen(): void {
    if (this.closed || this.closing) throw errClosed();
  }

  // --- reads ------------------------------------------------------------------

  async range(req: RangeRequest): Promise<RangeResponse> {
    this.checkOpen();
    return rangeAt(this, req, this.currentRev);
  }

  /** A Txn of ranges only, at one revision, beside the applies: see txn-read.ts. */
  async readTxn(req: TxnRequest): Promise<TxnResponse> {
    this.checkOpen();
    return readTxn(this, req);
  }

  // --- writes -----------------------------------------------------------------

  /** WriteContext: publish one revision. */
  commitWrite(rev: number, changes: KeyValue[], consistentIndex: number): void {
    // Checked before publishing anything, so a failed store rolls the write back whole.
    this.backend.assertWritable();
    if (changes.length > 0) {
      this.currentRev = rev;
      this.backend.commitRevision(rev);
    }
    this.backend.setConsistentIndex(consistentIndex);
    if (changes.length > 0 && this.listeners.size > 0) {
      const events = toEvents(changes);
      for (const l of this.listeners) {
        try { l(events, rev); } catch (err) { this.logger?.error({ err }, 'mvcc: event listener failed'); }
      }
    }
  }

  // Runs one write. A deterministic error (the request's answer, the same on
  // every member) rolls back whatever the write changed and still counts the
  // entry as applied, as etcd does. Any other error (disk, bug) rolls back too,
  // but the entry is not applied and the store stops: see failWrite.
  // A write that needs no LevelDB read (and meets no backpressure) completes
  // synchronously: its result, or its error thrown. The applier applies such an
  // entry without a promise or a microtask hop (see putNow).
  private write<T>(consistentIndex: number, fn: (tw: WriteTxn) => T | Promise<T>): T | Promise<T> {
    if (this.closed || this.closing) throw errClosed();
    const bp = this.backend.backpressure();
    if (bp) return bp.then(() => this.write(consistentIndex, fn));
    const tw = new WriteTxn(this);
    let result: T | Promise<T>;
    try {
      result = fn(tw);
    } catch (err) {
      throw this.failWrite(tw, consistentIndex, err);
    }
    if (result instanceof Promise) {
      return result.then(
        (v) => { this.endWrite(tw, consistentIndex); return v; },
        (err) => { throw this.failWrite(tw, consistentIndex, err); },
      );
    }
    this.endWrite(tw, consistentIndex);
    return result;
  }

  private endWrite(tw: WriteTxn, consistentIndex: number): void {
    try {
      tw.end(consistentIndex);
    } catch (err) {
      throw this.failWrite(tw, consistentIndex, err);
    }
  }

  private failWrite(tw: WriteTxn, consistentIndex: number, err: unknown): unknown {
    // The index and overlay go back exactly to before the write: a deterministic
    // error leaves no trace, and a failed store holds no half-applied entry.
    tw.rollback();
    if (isDeterministic(err)) {
      try {
        tw.end(consistentIndex);
      } catch (endErr) {
        return endErr; // storage failed meanwhile: the entry is not applied
      }
      return err;
    }
    // Closing mid-write is a shutdown, not a failure: the WAL replays the entry.
    if (err instanceof MvccError && err.code === 'closed') return err;
    // The disk (or a bug) failed half-way: the peers applied this entry and we
    // could not, so the store stops rather than diverge.
    this.logger?.error({ err, index: consistentIndex }, 'mvcc: write failed for an environmental reason; stopping the store');
    return this.backend.fail(err);
  }

  put(req: PutRequest, consistentIndex: number): Promise<PutResponse> {
    return promised(() => this.putNow(req, consistentIndex));
  }

  deleteRange(req: DeleteRangeRequest, consistentIndex: number): Promise<DeleteRangeResponse> {
    return promised(() => this.deleteRangeNow(req, consistentIndex));
  }

  txn(req: TxnRequest, consistentIndex: number): Promise<TxnResponse> {
    return promised(() => this.txnNow(req, consistentIndex));
  }

  /** put, answered synchronously (or thrown) when it can be: see write. */
  putNow(req: PutRequest, consistentIndex: number): PutResponse | Promise<PutResponse> {
    return this.write(consistentIndex, (tw) => {
      validatePut(req);
      return applyPut(tw, req);
    });
  }

  /** deleteRange, answered synchronously (or thrown) when it can be: see write. */
  deleteRangeNow(req: DeleteRangeRequest, consistentIndex: number): DeleteRangeResponse | Promise<DeleteRangeResponse> {
    return this.write(consistentIndex, (tw) => applyDeleteRange(tw, req));
  }

  /** txn, answered synchronously (or thrown) when it can be: see write. */
  txnNow(req: TxnRequest, consistentIndex: number): TxnResponse | Promise<TxnResponse> {
    return this.write(consistentIndex, (tw) => applyTxn(this, tw, req));
  }

  // --- compaction -------------------------------------------------------------

  async compact(revision: number, consistentIndex: number): Promise<{ done: Promise<void> }> {
    this.checkOpen();
    // Before anything changes: a failed store must not half-apply the compaction.
    this.backend.assertWritable();
    if (revision <= this.compactMainRev) { this.backend.setConsistentIndex(consistentIndex); throw errCompacted(); }
    if (revision > this.currentRev) { this.backend.setConsistentIndex(consistentIndex); throw errFutureRev(); }
    this.compactMainRev = revision;
    // Persisted with this entry's consistent index: if we crash before the flush,
    // the WAL replays the compaction; after it, open() resumes it.
    this.backend.stageRaw(META_SCHEDULED_COMPACT, u64Bytes(revision));
    this.backend.setConsistentIndex(consistentIndex);
    const keep = compactIndex(this.index, revision);
    const drained = this.guard.barrier();
    return { done: this.schedulePhysical(revision, keep, drained) };
  }

  private schedulePhysical(rev: number, keep: KeepSet, drained: Promise<void>): Promise<void> {
    const job = async (): Promise<void> => {
      if (this.closing) return;
      // Every revision ≤ rev must be in LevelDB before deleting, or a later flush
      // would write back what we delete.
      if (FAILPOINTS_ON) await failpointAsync('compactBeforeCommitScheduledCompact');
      await this.backend.flush();
      if (FAILPOINTS_ON) await failpointAsync('compactAfterCommitScheduledCompact');
      await drained;
      if (this.closing) return;
      await physicalCompact(this.backend, rev, keep, {
        batchLimit: this.opts.compactBatchLimit,
        sleepMs: this.opts.compactSleepMs,
        stopped: () => this.closing,
        logger: this.logger,
      });
    };
    const run = this.compactChain.then(job);
    this.compactChain = run.catch((err) => { this.logger?.error({ err, revision: rev }, 'mvcc: compaction failed'); });
    return run;
  }

  /** Resolves when every scheduled physical compaction (including one resumed at open) has finished or stopped. */
  compactionDone(): Promise<void> { return this.compactChain; }

  // --- hashing ----------------------------------------------------------------

  async hashKV(revision: number): Promise<HashKVResult> {
    this.checkOpen();
    const compactRev = this.compactMainRev, currentRev = this.currentRev;
    if (revision > 0 && revision < compactRev) throw errCompacted();
    if (revision > 0 && revision > currentRev) throw errFutureRev();
    const rev = revision <= 0 ? currentRev : revision;
    const hash = await hashByRev(this.backend, this.index, this.guard, compactRev, rev);
    return { hash, compactRevision: compactRev, revision: currentRev, hashRevision: rev };
  }

  /** Maintenance.Hash: the whole backend (backend-hash.ts), and the revision it holds. */
  async hash(): Promise<{ hash: number; revision: number }> {
    this.checkOpen();
    const revision = this.currentRev;
    return { hash: await hashBackend(this.backend), revision };
  }

  // --- state transfer (Raft snapshot installation) ----------------------------

  /**
   * A consistent image of the whole LevelDB (revisions, meta incl. consistent
   * index and compaction marks, and every raw key staged by other modules), as
   * of a flush done when iteration starts: it holds at least every write applied
   * before the first chunk is requested, and none made after the LevelDB
   * snapshot is taken. Streams in bounded chunks; see state-format.ts.
   */
  exportState(opts?: ExportOptions): AsyncIterable<Uint8Array> {
    const backend = this.backend;
    const check = (): void => this.checkOpen();
    return {
      [Symbol.asyncIterator]: () => {
        check();
        return exportImage(backend, opts);
      },
    };
  }

  /**
   * Restores an image into `dir` (must be missing or empty) and opens it. The
   * CRC is verified before anything is opened; on any failure `dir` is removed.
   */
  static async restoreState(dir: string, chunks: AsyncIterable<Uint8Array>, opts: MvccOptions & RestoreOptions = {}): Promise<MvccStore> {
    const summary = await restoreImage(dir, chunks, opts);
    let store: MvccStore | undefined;
    try {
      store = await MvccStore.open(dir, opts);
      const got = { consistentIndex: store.consistentIndex(), currentRevision: store.currentRevision(), compactRevision: store.compactRevision() };
      if (got.consistentIndex !== summary.consistentIndex || got.currentRevision !== summary.currentRevision || got.compactRevision !== summary.compactRevision) {
        throw new StateImageError(`restored store ${JSON.stringify(got)} disagrees with the image header ${JSON.stringify(summary)}`);
      }
      return store;
    } catch (err) {
      await store?.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * A point-in-time view of the whole backend read from one LevelDB snapshot
   * (store-view.ts): writes go on meanwhile; the caller closes it.
   */
  pointInTimeView(): Promise<StoreView> {
    this.checkOpen();
    return openStoreView(this.backend);
  }

  // --- lifecycle --------------------------------------------------------------

  flush(): Promise<void> { return this.backend.flush(); }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    await this.compactChain;
    await this.backend.close();
    this.closed = true;
  }

  dbSize(): Promise<number> { return this.backend.size(); }

  /** Rewrites the backend without its garbage (Maintenance.Defragment); never blocks reads or writes. */
  defragment(): Promise<void> { return this.backend.defragment(); }
  /** dbSize minus what compaction deleted that LevelDB still holds (Status.dbSizeInUse). */
  dbSizeInUse(): Promise<number> { return this.backend.sizeInUse(); }
}

/** Errors that are a request's answer, the same on every member. */
function isDeterministic(err: unknown): boolean {
  return (err instanceof MvccError && err.code !== 'closed') || err instanceof TxnValidationError;
}

export { MvccError };

/** `run`'s result as a promise: its value, its promise, or its exception as a rejection. */
function promised<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    const v = run();
    return v instanceof Promise ? v : Promise.resolve(v);
  } catch (err) {
    return Promise.reject(err);
  }
}
