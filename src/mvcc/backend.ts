// LevelDB plus a write buffer. Writes are applied to the in-memory overlay at
// once (so reads see them) and committed in one LevelDB batch per flush, every
// flushIntervalMs or flushMaxOps writes, like etcd's batched bbolt commits. The
// consistent index rides in the same batch as the writes it covers: after a
// crash, LevelDB holds exactly the entries up to the stored index, and the WAL
// replays the rest.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { decodeKeyValue, encodedLeaseBytes, encodedSize, encodeInto } from './kv-codec.js';
import { revKey, revKeyInto, u64Bytes, readU64, REV_KEY_LEN } from './revision.js';
import type { KeyValue, MvccLogger } from './types.js';
import { KvCache } from './kv-cache.js';

type Db = Level<Uint8Array, Uint8Array>;
type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

import { META_CONSISTENT_INDEX } from './keyspace.js';
// The meta keys are defined in keyspace.ts; re-exported for existing importers.
export { metaKey, META_CONSISTENT_INDEX, META_SCHEDULED_COMPACT, META_FINISHED_COMPACT } from './keyspace.js';

/** A stored revision: tombstones are KeyValues with createRevision 0 (as in etcd's events). */
export const isTombstoneKv = (kv: KeyValue): boolean => kv.createRevision === 0;

const EMPTY = new Uint8Array(0);

// Encodes the records of the given revisions into one slab, handing LevelDB
// views into it: one allocation per batch instead of two per record keeps the
// garbage collector out of the write path.
function encodeRevisions(overlay: Map<number, KeyValue[]>, mains: number[]): BatchOp[] {
  let size = 0;
  const leases: (Uint8Array | undefined)[] = [];
  for (const main of mains) {
    for (const kv of overlay.get(main)!) {
      const lb = isTombstoneKv(kv) ? undefined : encodedLeaseBytes(kv);
      leases.push(lb);
      size += REV_KEY_LEN + 1 + (isTombstoneKv(kv) ? encodedSize(tombRecord(kv), undefined) : encodedSize(kv, lb));
    }
  }
  const slab = new Uint8Array(size);
  const ops: BatchOp[] = [];
  let o = 0, li = 0;
  for (const main of mains) {
    const kvs = overlay.get(main)!;
    for (let sub = 0; sub < kvs.length; sub++) {
      const kv = kvs[sub]!;
      const tomb = isTombstoneKv(kv);
      const kl = revKeyInto(slab, o, main, sub, tomb);
      const key = slab.subarray(o, o + kl);
      o += kl;
      // etcd stores a tombstone as a KeyValue holding only the key.
      const end = encodeInto(tomb ? tombRecord(kv) : kv, leases[li++], slab, o);
      ops.push({ type: 'put', key, value: slab.subarray(o, end) });
      o = end;
    }
  }
  return ops;
}

const tombRecord = (kv: KeyValue): KeyValue => ({ key: kv.key, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n });

export interface BackendOptions {
  flushIntervalMs: number;
  flushMaxOps: number;
  /** Decoded-record cache size; 0 disables it. */
  cacheBytes: number;
  logger?: MvccLogger;
}

export class Backend {
  /** main revision → KeyValues by sub; holds unflushed and in-flight revisions. */
  private readonly overlay = new Map<number, KeyValue[]>();
  private pendingMains: number[] = [];
  private pendingOps = 0;
  /** Non-revision keys (meta, other modules' buckets): latin1 key → value, null = delete. */
  private raw = new Map<string, Uint8Array | null>();
  private readonly rawInflight: Map<string, Uint8Array | null>[] = [];
  private ci = 0;
  private ciDirty = false;
  private chain: Promise<void> = Promise.resolve();
  private inflight = 0;
  private timer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private closed = false;
  private readonly cache: KvCache;

  private constructor(readonly db: Db, readonly dir: string, private readonly opts: BackendOptions) {
    this.cache = new KvCache(opts.cacheBytes);
  }

  static async open(dir: string, opts: BackendOptions): Promise<Backend> {
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', cacheSize: 2 << 20, writeBufferSize: 1 << 20 });
    await db.open();
    const b = new Backend(db, dir, opts);
    const ci = await b.getRaw(META_CONSISTENT_INDEX);
    b.ci = ci ? readU64(ci) : 0;
    return b;
  }

  consistentIndex(): number { return this.ci; }

  setConsistentIndex(i: number): void {
    if (i <= this.ci) return;
    this.ci = i;
    this.ciDirty = true;
    this.schedule();
  }

  /** Makes a revision's record visible to reads; it is persisted only after commitRevision. */
  setKv(main: number, sub: number, kv: KeyValue): void {
    let arr = this.overlay.get(main);
    if (arr === undefined) { arr = []; this.overlay.set(main, arr); }
    arr[sub] = kv;
  }

  /** Queues every record of revision `main` for the next batch. */
  commitRevision(main: number): void {
    const arr = this.overlay.get(main);
    if (arr === undefined) return;
    this.pendingMains.push(main);
    this.pendingOps += arr.length;
    if (this.pendingOps >= this.opts.flushMaxOps) void this.flush().catch(() => {});
    else this.schedule();
  }

  /** Drops records of a revision that was never committed (failed transaction). */
  discardRevision(main: number): void {
    if (!this.pendingMains.includes(main)) this.overlay.delete(main);
  }

  /** Stages a non-revision key (meta, lease, auth …) into the next batch. */
  stageRaw(key: Uint8Array, value: Uint8Array | null): void {
    this.raw.set(Buffer.from(key).toString('latin1'), value);
    this.schedule();
  }

  /** Every raw value whose key starts with `prefix` (one byte), after a flush. */
  async scanRaw(prefix: number): Promise<Uint8Array[]> {
    await this.flush();
    return this.db.values({ gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]) }).all();
  }

  async getRaw(key: Uint8Array): Promise<Uint8Array | undefined> {
    const s = Buffer.from(key).toString('latin1');
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

  /** Applying should pause when the buffer has grown far past a batch (disk slower than applies). */
  backpressure(): Promise<void> | undefined {
    if (this.pendingOps >= 2 * this.opts.flushMaxOps && this.inflight > 0) return this.chain;
    return undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(() => {});
    }, this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /** Commits everything staged so far; resolves once it is in LevelDB. */
  flush(): Promise<void> {
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.failure) return Promise.reject(this.failure);
    const mains = this.pendingMains;
    const raw = this.raw;
    if (mains.length === 0 && raw.size === 0 && !this.ciDirty) return this.chain;
    this.pendingMains = [];
    this.pendingOps = 0;
    this.raw = new Map();
    this.ciDirty = false;
    // Snapshot the batch now, synchronously: the stored consistent index must match
    // exactly the writes in this batch, not ones applied while earlier batches run.
    const ops = encodeRevisions(this.overlay, mains);
    for (const [k, v] of raw) {
      const key = Buffer.from(k, 'latin1');
      ops.push(v === null ? { type: 'del', key } : { type: 'put', key, value: v });
    }
    ops.push({ type: 'put', key: META_CONSISTENT_INDEX, value: u64Bytes(this.ci) });
    this.rawInflight.push(raw);
    this.inflight++;
    const run = async (): Promise<void> => {
      try {
        await this.db.batch(ops);
      } catch (err) {
        this.failure = err as Error;
        this.opts.logger?.error({ err }, 'mvcc: backend commit failed');
        throw err;
      } finally {
        this.inflight--;
      }
      for (const main of mains) {
        const kvs = this.overlay.get(main)!;
        for (let sub = 0; sub < kvs.length; sub++) if (!isTombstoneKv(kvs[sub]!)) this.cache.set(main, sub, kvs[sub]!);
        this.overlay.delete(main);
      }
      const i = this.rawInflight.indexOf(raw);
      if (i >= 0) this.rawInflight.splice(i, 1);
    };
    this.chain = this.chain.then(run);
    return this.chain;
  }

  /** Writes straight to LevelDB, outside the buffered batches (physical compaction). */
  async writeDirect(ops: BatchOp[]): Promise<void> {
    await this.db.batch(ops);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.db.close();
  }

  async size(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.dir)) {
      try { total += (await stat(join(this.dir, name))).size; } catch { /* file rotated away */ }
    }
    return total;
  }
}
