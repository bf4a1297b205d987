// LevelDB plus a write buffer. Writes are applied to the in-memory overlay at
// once (so reads see them) and committed in one LevelDB batch per flush, every
// flushIntervalMs or flushMaxOps writes, like etcd's batched bbolt commits. The
// consistent index rides in the same batch as the writes it covers: after a
// crash, LevelDB holds exactly the entries up to the stored index, and the WAL
// replays the rest.
//
// Entry boundaries: whatever one Raft entry stages (revisions, raw keys) stays
// out of every batch until setConsistentIndex ends that entry, so a batch can
// never hold an entry's effects without its index, nor its index without all
// of its effects, however the flush was triggered (size, timer, an explicit
// flush from the compactor or a hash while an entry awaits a read).
//
// Staging: ended entries' records are encoded and copied into the next LevelDB
// write batch in chunks of at least STAGE_MIN_OPS records as they pile up (from
// setImmediate: after the apply turn that ended them has answered its
// clients), not all at once when the batch is written. A flush then stages the
// few left, adds the raw keys and the consistent index and hands the batch
// over. Done at flush time, the encoding and copying of a 100 ms batch held the
// member's thread for ~0.4 ms at one client (~76 records), and the request that
// arrived meanwhile waited for it; staged one entry at a time, each record cost
// ~2x the CPU (a turn, an encoding and a native call of its own). See
// docs/PERFORMANCE.md, twenty-eighth round.
//
// Durability: ordinary batches are not synced (the WAL covers them). A synced
// batch (flush({ sync: true })) makes it and every earlier write durable; the
// index it carries is the durable consistent index, the only one that may let
// WAL segments go.
//
// Failure: a batch that fails puts the backend in a failed state for good:
// every later write, flush and index update throws StorageFailure, and
// onFailure is told once. The index never advances past a failed batch.

import { decodeKeyValue } from './kv-codec.js';
import { revKey, u64Bytes, readU64 } from './revision.js';
import { encodeRevisions } from './revision-records.js';
import type { KeyValue, MvccLogger } from './types.js';
import { KvCache } from './kv-cache.js';
import { DirSizer } from './dir-size.js';
import { StorageFailure } from './errors.js';
import { openLevelDb, type BatchOp, type KvDb, type OpenDb, type StagedBatch } from './db.js';

import { META_CONSISTENT_INDEX } from './keyspace.js';
import { stage } from '../util/stage-trace.js';
import { FAILPOINTS_ON, failpointAsync } from '../util/failpoints.js';

export interface BackendOptions {
  flushIntervalMs: number;
  flushMaxOps: number;
  /** Decoded-record cache size; 0 disables it. */
  cacheBytes: number;
  logger?: MvccLogger;
  /** The database behind the store (default: LevelDB); tests inject a crashable one. */
  openDb?: OpenDb;
  /** Called once when the backend enters the failed state (the member must stop). */
  onFailure?: (err: StorageFailure) => void;
  /** --unsafe-no-fsync: synced flushes write without LevelDB's sync (etcd: bbolt NoSync). */
  unsafeNoFsync?: boolean;
}

const SYNC = { sync: true };
/** Records that make a chunk worth staging before the flush (see Staging above). */
export const STAGE_MIN_OPS = 16;
/** Bounds covering every key of the store (all keys start below 0xff, see keyspace.ts). */
const DEFRAG_START = new Uint8Array(0);
const DEFRAG_END = new Uint8Array(32).fill(0xff);

export class Backend {
  /** main revision → KeyValues by sub; holds unflushed and in-flight revisions. */
  private readonly overlay = new Map<number, KeyValue[]>();
  /** Revisions of ended entries, not yet in the next batch (staged soon, or by the flush). */
  private pendingMains: number[] = [];
  /** The next batch: the records of `stagedMains`, copied in (see Staging above). */
  private staged: StagedBatch | undefined;
  private stagedMains: number[] = [];
  /** Records of pendingMains. */
  private unstagedOps = 0;
  private stageQueued = false;
  /** Records ended since the last flush, staged or not. */
  private pendingOps = 0;
  /** Revisions of the entry being applied: they join a batch only when it ends. */
  private readonly openMains: number[] = [];
  private openOps = 0;
  /** Non-revision keys (meta, other modules' buckets) of ended entries: latin1 key → value, null = delete. */
  private raw = new Map<string, Uint8Array | null>();
  /** Raw keys staged by the entry being applied. */
  private readonly rawOpen = new Map<string, Uint8Array | null>();
  private readonly rawInflight: Map<string, Uint8Array | null>[] = [];
  /** Index of the last ended entry (in memory). */
  private ci = 0;
  private ciDirty = false;
  /** Index carried by the newest synced batch (or found on disk at open). */
  private durableCi = 0;
  private chain: Promise<void> = Promise.resolve();
  private inflight = 0;
  private timer: NodeJS.Timeout | undefined;
  private failure: StorageFailure | undefined;
  private closed = false;
  private readonly cache: KvCache;
  private readonly sizer: DirSizer;
  /**
   * Bytes (keys + values) physical compaction deleted since this backend opened:
   * still in the LevelDB files until LevelDB compacts them away, but no longer in
   * use (Status.dbSizeInUse = size − this). Whatever reclaims them (defragment)
   * calls resetFreed().
   */
  private freed = 0;

  private constructor(readonly db: KvDb, readonly dir: string, private readonly opts: BackendOptions) {
    this.cache = new KvCache(opts.cacheBytes);
    this.sizer = new DirSizer(dir);
  }

  static async open(dir: string, opts: BackendOptions): Promise<Backend> {
    const db = (opts.openDb ?? openLevelDb)(dir);
    await db.open();
    const b = new Backend(db, dir, opts);
    const ci = await b.getRaw(META_CONSISTENT_INDEX);
    b.ci = ci ? readU64(ci) : 0;
    // LevelDB's recovery at open writes what it replays into synced tables.
    b.durableCi = b.ci;
    return b;
  }

  consistentIndex(): number { return this.ci; }

  get logger(): MvccLogger | undefined { return this.opts.logger; }

  /** The consistent index covered by a synced batch: state a power loss cannot take back. */
  durableConsistentIndex(): number { return this.durableCi; }

  /** Throws the failure if the backend has failed (checked before a write changes anything). */
  assertWritable(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * Ends the entry at index `i`: everything it staged joins the next batch,
   * together with `i`. Every applied entry calls this once, after its effects.
   */
  setConsistentIndex(i: number): void {
    if (this.failure) throw this.failure;
    if (this.openMains.length > 0) {
      for (let j = 0; j < this.openMains.length; j++) this.pendingMains.push(this.openMains[j]!);
      this.pendingOps += this.openOps;
      this.unstagedOps += this.openOps;
      this.openMains.length = 0;
      this.openOps = 0;
      if (this.unstagedOps >= STAGE_MIN_OPS) this.stageSoon();
    }
    if (this.rawOpen.size > 0) {
      for (const [k, v] of this.rawOpen) this.raw.set(k, v);
      this.rawOpen.clear();
    }
    if (i > this.ci) {
      this.ci = i;
      this.ciDirty = true;
    }
    if (this.pendingOps >= this.opts.flushMaxOps) this.flushInBackground();
    else if (this.hasPending()) this.schedule();
  }

  /** Makes a revision's record visible to reads; it is persisted only after commitRevision. */
  setKv(main: number, sub: number, kv: KeyValue): void {
    let arr = this.overlay.get(main);
    if (arr === undefined) { arr = []; this.overlay.set(main, arr); }
    arr[sub] = kv;
  }

  /** Queues every record of revision `main` with the current entry (batched once the entry ends). */
  commitRevision(main: number): void {
    if (this.failure) throw this.failure;
    const arr = this.overlay.get(main);
    if (arr === undefined) return;
    this.openMains.push(main);
    this.openOps += arr.length;
  }

  /** Drops records of a revision that was never committed (failed transaction). */
  discardRevision(main: number): void {
    if (!this.pendingMains.includes(main) && !this.openMains.includes(main) && !this.stagedMains.includes(main)) this.overlay.delete(main);
  }

  private stageSoon(): void {
    if (this.stageQueued) return;
    this.stageQueued = true;
    setImmediate(this.stageQueuedNow);
  }

  private readonly stageQueuedNow = (): void => {
    this.stageQueued = false;
    this.stagePending();
  };

  /**
   * Copies the records of every ended entry not yet staged into the next batch.
   * A failure (the database closed under it, say) fails the backend: the batch
   * may hold part of these records, and nothing of it may be written.
   */
  private stagePending(): void {
    if (this.pendingMains.length === 0 || this.failure || this.closed) return;
    try {
      encodeRevisions(this.overlay, this.pendingMains, (this.staged ??= this.db.stage()));
    } catch (err) {
      this.fail(err);
      return;
    }
    for (let j = 0; j < this.pendingMains.length; j++) this.stagedMains.push(this.pendingMains[j]!);
    this.pendingMains = [];
    this.unstagedOps = 0;
  }

  /** Stages a non-revision key (meta, lease, auth …) with the current entry. */
  stageRaw(key: Uint8Array, value: Uint8Array | null): void {
    if (this.failure) throw this.failure;
    this.rawOpen.set(Buffer.from(key).toString('latin1'), value);
  }

  /** Every raw value whose key starts with `prefix` (one byte), after a flush. */
  async scanRaw(prefix: number): Promise<Uint8Array[]> {
    await this.flush();
    return this.db.values({ gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]) }).all();
  }

  async getRaw(key: Uint8Array): Promise<Uint8Array | undefined> {
    const s = Buffer.from(key).toString('latin1');
    if (this.rawOpen.has(s)) return this.rawOpen.get(s) ?? undefined;
    if (this.raw.has(s)) return this.raw.get(s) ?? undefined;
    for (let i = this.rawInflight.length - 1; i >= 0; i--) {
      const m = this.rawInflight[i]!;
      if (m.has(s)) return m.get(s) ?? undefined;
    }
    return this.db.get(key);
  }

  /** A revision's record if it is still buffered; undefined means "ask LevelDB". */
  bufferedKv(main: number, sub: number): KeyValue | undefined {
    return this.overlay.get(main)?.[sub];
  }

  bufferedRevision(main: number): KeyValue[] | undefined {
    return this.overlay.get(main);
  }

  /**
   * Live (non-tombstone) records by revision. Buffered ones resolve without I/O;
   * the caller must keep compaction from deleting the rest until this settles.
   */
  fetchLive(mains: number[], subs: number[]): KeyValue[] | Promise<KeyValue[]> {
    const out: KeyValue[] = new Array(mains.length);
    let missing: number[] | undefined;
    for (let i = 0; i < mains.length; i++) {
      const kv = this.overlay.get(mains[i]!)?.[subs[i]!] ?? this.cache.get(mains[i]!, subs[i]!);
      if (kv !== undefined) out[i] = kv;
      else (missing ??= []).push(i);
    }
    if (missing === undefined) return out;
    const idx = missing;
    return this.db.getMany(idx.map((i) => revKey(mains[i]!, subs[i]!))).then((vals) => {
      for (let j = 0; j < idx.length; j++) {
        const v = vals[j];
        const i = idx[j]!;
        if (v === undefined) {
          // Only a bug (or on-disk damage) gets here: the index names a revision the
          // backend doesn't hold.
          throw new Error(`mvcc: revision ${mains[i]}.${subs[i]} missing from backend`);
        }
        const kv = decodeKeyValue(v);
        this.cache.set(mains[i]!, subs[i]!, kv);
        out[i] = kv;
      }
      return out;
    });
  }

  /**
   * Applying should pause when the buffer has grown far past a batch while one
   * is being written (disk slower than applies). Only one background batch is
   * in flight at a time, so the buffer does grow, and this resolves once the
   * batch in flight is done (and the next one started). Rejects once failed.
   */
  backpressure(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pendingOps + this.openOps >= 2 * this.opts.flushMaxOps && this.inflight > 0) return this.chain;
    return undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed || this.failure) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushInBackground();
    }, this.opts.flushIntervalMs);
    this.timer.unref();
  }

  // Size and timer flushes: one batch in flight at a time; the next starts when
  // it completes. Errors are reported through fail(), not here.
  private flushInBackground(): void {
    if (this.inflight > 0 || this.closed || this.failure) return;
    void this.flush().catch(() => {});
  }

  private hasPending(): boolean {
    return this.pendingMains.length > 0 || this.stagedMains.length > 0 || this.raw.size > 0 || this.ciDirty;
  }

  /**
   * Commits every ended entry staged so far; resolves once it is in LevelDB.
   * With `sync`, also once it (and all earlier writes) is durable: then
   * durableConsistentIndex() covers everything applied before the call.
   */
  flush(opts?: { sync?: boolean }): Promise<void> {
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.failure) return Promise.reject(this.failure);
    const sync = opts?.sync === true;
    if (!this.hasPending() && !sync) return this.chain;
    stage('ldb-flush');
    // Take the batch now, synchronously: the stored consistent index must match
    // exactly the writes in this batch, not ones applied while earlier batches run.
    this.stagePending();
    if (this.failure) return Promise.reject(this.failure);
    const mains = this.stagedMains;
    const raw = this.raw;
    const batchCi = this.ci;
    let batch: StagedBatch;
    try {
      batch = this.staged ?? this.db.stage();
      for (const [k, v] of raw) {
        const key = Buffer.from(k, 'latin1');
        if (v === null) batch.del(key);
        else batch.put(key, v);
      }
      batch.put(META_CONSISTENT_INDEX, u64Bytes(batchCi));
    } catch (err) {
      return Promise.reject(this.fail(err));
    }
    this.staged = undefined;
    this.stagedMains = [];
    this.pendingOps = 0;
    this.raw = new Map();
    this.ciDirty = false;
    this.rawInflight.push(raw);
    this.inflight++;
    const run = async (): Promise<void> => {
      try {
        stage('ldb-w');
        if (FAILPOINTS_ON) await failpointAsync('beforeCommit');
        await batch.write(sync && !this.opts.unsafeNoFsync ? SYNC : undefined);
        stage('ldb-wd');
      } catch (err) {
        this.inflight--;
        throw this.fail(err);
      }
      this.inflight--;
      if (FAILPOINTS_ON) await failpointAsync('afterCommit');
      if (sync && batchCi > this.durableCi) this.durableCi = batchCi;
      // Written records are not copied into the read cache: reads fill it. A
      // copy per put was most of what the young generation promoted (the cache
      // holds seconds of writes), and with distinct keys nothing reads them.
      for (const main of mains) this.overlay.delete(main);
      const i = this.rawInflight.indexOf(raw);
      if (i >= 0) this.rawInflight.splice(i, 1);
      // What piled up while this batch was written goes next.
      if (this.pendingOps >= this.opts.flushMaxOps) this.flushInBackground();
      else if (this.hasPending()) this.schedule();
    };
    this.chain = this.chain.then(run);
    return this.chain;
  }

  /**
   * Enters the failed state (a LevelDB write failed, or a write met an
   * environmental error half-way): the store must stop rather than diverge.
   * Returns the StorageFailure every later write gets.
   */
  fail(err: unknown): StorageFailure {
    if (this.failure) return this.failure;
    const f = err instanceof StorageFailure
      ? err
      : new StorageFailure(`mvcc: storage failure: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    this.failure = f;
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined; }
    this.opts.logger?.error({ err }, 'mvcc: storage failed; the store accepts no more writes');
    try { this.opts.onFailure?.(f); } catch (e) { this.opts.logger?.error({ err: e }, 'mvcc: onFailure callback threw'); }
    return f;
  }

  /** Writes straight to LevelDB, outside the buffered batches (physical compaction). */
  async writeDirect(ops: BatchOp[]): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      await this.db.batch(ops);
    } catch (err) {
      throw this.fail(err);
    }
  }

  /** Flushes ended entries (an entry still being applied is left to the WAL) and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.failure) await this.flush();
    } finally {
      this.closed = true;
      if (this.timer !== undefined) clearTimeout(this.timer);
      await this.db.close();
    }
  }

  /**
   * Defragment (etcd's Maintenance.Defragment): LevelDB compacts the whole key
   * range on its worker thread, dropping what compaction and overwrites left
   * behind. It takes neither the flush chain nor the apply path: batches, reads
   * and snapshots go on while it runs.
   */
  async defragment(): Promise<void> {
    if (this.closed) throw new Error('backend closed');
    if (FAILPOINTS_ON) await failpointAsync('defragBeforeCopy');
    await this.db.compactRange?.(DEFRAG_START, DEFRAG_END);
    if (FAILPOINTS_ON) await failpointAsync('defragAfterCopy');
    // LevelDB has rewritten its files: the space compaction freed is reclaimed.
    this.resetFreed();
  }

  /** Physical compaction deleted these bytes. */
  noteFreed(bytes: number): void {
    this.freed += bytes;
  }

  /** LevelDB reclaimed the space of deleted keys (a full compaction of the files). */
  resetFreed(): void {
    this.freed = 0;
  }

  /** The size of the LevelDB files minus what compaction deleted and LevelDB has not reclaimed yet. */
  async sizeInUse(): Promise<number> {
    return Math.max(0, (await this.size()) - this.freed);
  }

  /** Bytes of the LevelDB files (the quota reads this every 100 ms). */
  size(): Promise<number> { return this.db.size ? this.db.size() : this.sizer.size(); }
}
