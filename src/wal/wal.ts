// The write-ahead log: raft entries, hard states and snapshot markers appended to
// segment files (framing in record.ts), durable before save() resolves. Creating
// and opening a log (replay, torn-tail repair) is wal-open.ts; the records of the
// next write, with the last index and hard state they leave, next-write.ts.
//
// Group commit: save() only queues. One flush at a time takes everything queued,
// encodes it into one buffer and writes it with one write through the segment's
// O_DSYNC handle (durable when it returns), then resolves those callers. Calls
// made while a write is in flight form the next batch, so 64 concurrent callers
// cost roughly one disk flush, not 64. Calls are encoded in the order they were
// made, so the log order is the call order. The flush is a chain of callbacks
// (a microtask, then fs.write's completion), not an async loop: at one request
// at a time an async loop and its steps cost ~2 KB of allocation per save.
//
// Inline writes: saveNow() writes a small batch on the calling thread, durable
// when it returns, if nothing is queued or in flight (so it cannot overtake a
// save), and otherwise refuses; the Raft driver decides when to ask
// (src/server/inline-writes.ts).

import { join } from 'node:path';
import type { Entry, HardState } from '../raft/types.js';
import { WalEntryReader } from './entry-reader.js';
import { canWriteSync, writeAll, writeAllSync } from './fsutil.js';
import { runSoon } from '../util/microtask.js';
import { silentLogger, type Logger } from './logger.js';
import { SegmentPipeline } from './pipeline.js';
import { NextWrite } from './next-write.js';
import type { SnapRef } from './replay.js';
import { listSegments, segmentName } from './segment.js';
import { stage } from '../util/stage-trace.js';
import { nodeWalFs, type WalFile, type WalFs } from './wal-fs.js';
import { createLog, openForAppend, openLog, walExists, DEFAULT_SEGMENT_BYTES, type TailState, type WalOptions } from './wal-open.js';

export { DEFAULT_SEGMENT_BYTES, type WalOptions };

const SLOW_FSYNC_MS = 1000;

/**
 * Inline writes (saveNow): a batch up to about this size, and only while the
 * previous write took less than the bound the caller gives (INLINE_MAX_LAST_MS
 * unless it passes another), is written on the calling thread. A thread-pool
 * write costs two thread wake-ups (the pool thread, then this thread for its
 * completion), and on a machine whose CPUs are shared each of them can wait a
 * millisecond or more to be scheduled; an inline write of a few hundred bytes to
 * a disk that answers in well under a millisecond costs neither. Bounded so that
 * a stalling disk blocks the thread at most once: the write that took too long
 * sends the next ones back to the pool until one is quick again.
 */
const INLINE_MAX_BYTES = 8 << 10;
const INLINE_MAX_LAST_MS = 10;
/** At most what a record adds to what it carries (frame, header, padding) and an entry's fields add to its data. */
const RECORD_OVERHEAD_BOUND = 64;

interface Op {
  hardState: HardState | undefined;
  entries: Entry[];
  snap: SnapRef | undefined;
  resolve(): void;
  reject(err: unknown): void;
}

const NO_OPS: Op[] = [];

export class WAL {
  private fh: WalFile;
  private seq: number;
  private offset: number;
  private readonly metadata: Uint8Array;
  /** The records of the next write; the log's last index and hard state as it leaves them. */
  private readonly next: NextWrite;
  private readonly pipeline: SegmentPipeline;
  private readonly segmentSize: number;
  private readonly logger: Logger;
  private readonly noSync: boolean;
  private readonly fs: WalFs;
  /** Where this WAL's entries are, to read them back (the Raft log's cold runs). */
  private readonly reader = new WalEntryReader();

  /** fdatasyncs of commit batches so far; calls ÷ this = group commit factor. */
  private syncs = 0;
  private queue: Op[] = [];
  /** A flush is scheduled or under way (a batch's write, or a cut): saves queue behind it. */
  private busy = false;
  /** The batch being written through the pool: its requests, where it started, bytes written so far. */
  private inFlight: Op[] = NO_OPS;
  private writeStarted = 0;
  private writeDone = 0;
  /** close() waiting for the flush to end. */
  private idleWaiters: (() => void)[] = [];
  private failed: Error | undefined;
  private closed = false;
  /** How long the last batch's write took (ms), whichever way it went. */
  private lastWriteMs = 0;

  private constructor(
    private readonly dir: string,
    t: TailState,
    opts: WalOptions,
  ) {
    this.fh = t.fh;
    this.seq = t.seq;
    this.offset = t.offset;
    this.metadata = t.metadata;
    this.next = new NextWrite(t.crc, t.lastIndex, t.hardState);
    this.segmentSize = opts.segmentSizeBytes ?? DEFAULT_SEGMENT_BYTES;
    this.logger = opts.logger ?? silentLogger;
    this.noSync = opts.unsafeNoFsync === true;
    this.fs = opts.fs ?? nodeWalFs;
    this.pipeline = new SegmentPipeline(dir, this.segmentSize, this.logger, this.fs);
  }

  /** True if `dir` holds at least one WAL segment. */
  static exists(dir: string, fs: WalFs = nodeWalFs): Promise<boolean> {
    return walExists(dir, fs);
  }

  /**
   * A new WAL whose first segment holds the metadata and a snapshot marker at
   * {0, 0} (wal-open.ts: built beside `dir` and renamed into place).
   */
  static async create(dir: string, metadata: Uint8Array, opts: WalOptions = {}): Promise<WAL> {
    const { dir: clean, tail } = await createLog(dir, metadata, opts);
    const wal = new WAL(clean, tail, opts);
    await wal.openForReading(tail.seq, tail.name);
    return wal;
  }

  /**
   * Replays the log from the segment holding `snap` (default: the start), repairs a
   * torn tail, and returns a WAL ready to append after the last good record.
   * Throws WalCorruptError / WalSnapshotNotFoundError when the log cannot be trusted.
   */
  static async open(
    dir: string,
    snap: SnapRef | undefined,
    opts: WalOptions = {},
  ): Promise<{ wal: WAL; metadata: Uint8Array; hardState: HardState; entries: Entry[] }> {
    const { tail, entries } = await openLog(dir, snap, opts);
    const wal = new WAL(dir, tail, opts);
    await wal.openForReading(tail.seq, tail.name);
    return { wal, metadata: tail.metadata, hardState: tail.hardState, entries };
  }

  /**
   * Appends `entries`, then `hardState` (unless undefined or unchanged), and
   * resolves once they are on disk.
   */
  save(hardState: HardState | undefined, entries: Entry[]): Promise<void> {
    // Encoding happens at flush time: snapshot the caller's containers now. The
    // Entry objects themselves (and their data) must not be mutated until resolved.
    const hs = hardState && { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
    return this.enqueue(hs, entries.slice(), undefined);
  }

  /** Records that a snapshot at {index, term} exists; open() requires it. */
  saveSnapshot(snap: SnapRef): Promise<void> {
    return this.enqueue(undefined, [], { index: snap.index, term: snap.term });
  }

  /**
   * Deletes segments that open() from a snapshot at `index` would no longer read:
   * all older than the newest segment whose first index is ≤ index. Call it only
   * once the snapshot at `index` and its marker are durable.
   */
  async releaseTo(index: number, maxFiles = 0): Promise<void> {
    const segs = await listSegments(this.dir, this.fs);
    let keepFrom = 0;
    for (let i = segs.length - 1; i >= 0; i--) {
      if (segs[i]!.index <= index) {
        keepFrom = i;
        break;
      }
    }
    // --max-wals: of the segments no longer needed, only as many go as leave maxFiles (0: none kept back).
    if (maxFiles > 0) keepFrom = Math.min(keepFrom, Math.max(0, segs.length - maxFiles));
    const doomed = segs.slice(0, keepFrom).filter((s) => s.seq < this.seq);
    if (doomed.length === 0) return;
    for (const s of doomed) await this.fs.unlink(join(this.dir, s.name));
    await this.fs.syncDir(this.dir);
    this.logger.info({ dir: this.dir, released: doomed.map((s) => s.name), index }, 'WAL: released old segments');
  }

  /**
   * Writes `entries`, then `hardState` (as save()), on the calling thread, and
   * returns true once they are on disk, if the WAL may do that now: nothing of
   * its own queued or in flight (log order is call order), a small batch (see
   * INLINE_MAX_BYTES), a file that can be written on this thread, and its last
   * write took under `maxLastWriteMs`. Otherwise it writes nothing and returns
   * false: then save(). No promise and no flush: the inline mode this replaced
   * still went through both (~1.7 KB of allocation a save at one request at a
   * time).
   * Throws what save() would reject with: a request that cannot be encoded
   * fails alone; a failed write fails the WAL.
   */
  saveNow(hardState: HardState | undefined, entries: Entry[], maxLastWriteMs = INLINE_MAX_LAST_MS): boolean {
    const fh = this.fh;
    if (!this.canSaveNow(entries, maxLastWriteMs) || !canWriteSync(fh)) return false;
    const err = this.next.add(hardState, entries, undefined);
    if (err !== undefined) throw err;
    if (this.next.length === 0) return true;
    const t0 = performance.now();
    stage('wal-w');
    try {
      writeAllSync(fh, this.next.bytes(), this.offset);
    } catch (e) {
      this.next.forgetEntries();
      this.fail(e, []);
      throw this.failed;
    }
    stage('wal-wd');
    this.written(t0);
    if (this.offset >= this.segmentSize) {
      this.busy = true;
      this.cutThenFlush();
    }
    return true;
  }

  /** Whether saveNow would write these entries now (the file permitting). */
  canSaveNow(entries: readonly Entry[], maxLastWriteMs = INLINE_MAX_LAST_MS): boolean {
    if (this.busy || this.queue.length > 0 || this.failed !== undefined || this.closed) return false;
    if (this.lastWriteMs >= maxLastWriteMs || !canWriteSync(this.fh)) return false;
    let bytes = RECORD_OVERHEAD_BOUND; // the hard state
    for (const e of entries) bytes += RECORD_OVERHEAD_BOUND + e.data.length;
    return bytes <= INLINE_MAX_BYTES;
  }

  /** The entries this WAL wrote, to be read back (MemoryStorage's `cold` option). */
  get coldEntries(): WalEntryReader {
    return this.reader;
  }

  /** Number of commit batches written and fdatasync'ed (for metrics and tests). */
  get fsyncCount(): number {
    return this.syncs;
  }

  /** Waits for queued saves, then closes the files. Later saves are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.busy) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.pipeline.close();
    await this.fh.close().catch(() => {});
    await this.reader.close();
  }

  private enqueue(hardState: HardState | undefined, entries: Entry[], snap: SnapRef | undefined): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('WAL is closed'));
    return new Promise<void>((resolve, reject) => {
      // Every field spelled out, in one order: `{ ...op, resolve, reject }` cost ~450 B
      // more per save in a heap profile (V8 copies the spread object's shape, then grows it).
      this.queue.push({ hardState, entries, snap, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        // A microtask: the callers of this tick queue up too before the first batch goes out.
        runSoon(this.flushQueued);
      }
    });
  }

  /**
   * Takes everything queued, encodes it and starts its write through the pool
   * (onWrite goes on). Made once: it is the flush's microtask.
   */
  private readonly flushQueued = (): void => {
    const ops = this.queue;
    this.queue = [];
    const ready: Op[] = [];
    for (const op of ops) {
      const err = this.next.add(op.hardState, op.entries, op.snap);
      if (err === undefined) ready.push(op);
      else op.reject(err);
    }
    if (this.next.length === 0) {
      this.batchDone(ready);
      return;
    }
    this.inFlight = ready;
    this.writeStarted = performance.now();
    this.writeDone = 0;
    stage('wal-w');
    this.writeRest();
  };

  /** Writes what is left of the batch (fs.write may write less than asked). */
  private writeRest(): void {
    const bytes = this.next.bytes();
    const done = this.writeDone;
    try {
      this.fh.write(bytes, done, bytes.length - done, this.offset + done, this.onWrite);
    } catch (err) {
      // A write refused before it started (a handle closed under it): the WAL fails.
      this.onWrite(err as NodeJS.ErrnoException, 0);
    }
  }

  private readonly onWrite = (err: NodeJS.ErrnoException | null, n: number): void => {
    const ops = this.inFlight;
    if (err) {
      this.inFlight = NO_OPS;
      this.next.forgetEntries();
      this.fail(err, ops);
      this.toIdle();
      return;
    }
    this.writeDone += n;
    if (this.writeDone < this.next.length) {
      this.writeRest();
      return;
    }
    this.inFlight = NO_OPS;
    stage('wal-wd');
    this.written(this.writeStarted);
    this.batchDone(ops);
  };

  /**
   * A batch is on disk: resolves its requests, then cuts a full segment or
   * writes what queued meanwhile. The flush ends (busy cleared) before the
   * requests are resolved when nothing follows, so that a caller resumed by its
   * request can write inline at once (saveNow); otherwise the next batch starts
   * in a microtask queued after those callers' continuations, so the writes
   * they queue join it.
   */
  private batchDone(ops: Op[]): void {
    const cut = this.offset >= this.segmentSize;
    const more = this.queue.length > 0;
    if (!cut && !more) this.toIdle();
    for (const op of ops) op.resolve();
    if (cut) this.cutThenFlush();
    else if (more) runSoon(this.flushQueued);
  }

  /** Starts the next segment (busy meanwhile), then flushes what queued; a failed cut fails the WAL. */
  private cutThenFlush(): void {
    this.cut().then(
      () => {
        if (this.queue.length > 0) this.flushQueued();
        else this.toIdle();
      },
      (err: unknown) => {
        this.fail(err, []);
        this.toIdle();
      },
    );
  }

  /** No flush under way: saves start one again, close() may go on. */
  private toIdle(): void {
    this.busy = false;
    if (this.idleWaiters.length > 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * The batch (from offset `this.offset`) was written, `t0` when it started:
   * where its entries are, the new end of the file, how long it took.
   */
  private written(t0: number): void {
    const base = this.offset;
    this.offset += this.next.length;
    this.next.written(this.reader, this.seq, base);
    // The append handle is O_DSYNC: the write returned once the data was on disk,
    // one thread-pool round trip instead of two (write, then fdatasync).
    if (!this.noSync) this.syncs++;
    const ms = performance.now() - t0;
    this.lastWriteMs = ms;
    if (ms > SLOW_FSYNC_MS) this.logger.warn({ ms: Math.round(ms), dir: this.dir }, 'WAL: slow fdatasync');
    if (this.offset >= this.segmentSize / 2) this.pipeline.prepareSoon();
  }

  /**
   * A read handle on segment `seq` (the one this WAL writes now), for reading its
   * entries back. Without one (a file system that cannot read on the calling
   * thread), its entries simply stay in memory.
   */
  private async openForReading(seq: number, name: string): Promise<void> {
    const file = await this.fs.open(join(this.dir, name), 'read');
    this.reader.addSegment(seq, file);
    if (file.readSync === undefined) await file.close();
  }

  /**
   * After a failed write or fsync the file's state is unknown (and a retried
   * fsync can falsely succeed), so the WAL refuses all further work.
   */
  private fail(err: unknown, ops: Op[]): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.failed = new Error(`WAL failed, refusing further writes: ${e.message}`, { cause: e });
    this.logger.warn({ err: e, dir: this.dir }, 'WAL: write failed');
    for (const op of ops) op.reject(this.failed);
    for (const op of this.queue.splice(0)) op.reject(this.failed);
  }

  /**
   * Starts segment seq+1, named after the next raft index. Order matters for
   * crashes: the old segment is trimmed and synced first, the new one only gets
   * its final name once its header (crc, metadata, hard state) is durable.
   */
  private async cut(): Promise<void> {
    const t0 = performance.now();
    await this.fh.truncate(this.offset);
    await this.fh.sync();
    await this.fh.close();

    const prepared = await this.pipeline.take();
    const seq = this.seq + 1;
    const name = segmentName(seq, this.next.lastIndex + 1);
    this.next.segmentHeader(this.metadata);
    await writeAll(prepared.fh, this.next.bytes(), 0);
    if (!this.noSync) await prepared.fh.datasync();
    await this.fs.rename(prepared.path, join(this.dir, name));
    await this.fs.syncDir(this.dir);
    await prepared.fh.close();

    this.fh = await openForAppend(this.fs, join(this.dir, name), this.noSync);
    this.seq = seq;
    await this.openForReading(seq, name);
    this.offset = this.next.length;
    this.next.reset();
    this.logger.info({ segment: name, ms: Math.round(performance.now() - t0) }, 'WAL: cut new segment');
  }
}
