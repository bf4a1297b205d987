// Bringing a log to where it can append: a new one (its first segment built in
// <dir>.tmp and renamed into place, so a crash never leaves a half-initialised
// WAL that open would accept), or an existing one replayed from a snapshot, its
// torn tail repaired and what was replayed made durable before Raft acts on it.
// The WAL (wal.ts) takes it from there.

import { dirname, join } from 'node:path';
import { encodeHardState } from '../raft/codec.js';
import type { Entry, HardState } from '../raft/types.js';
import { isEmptyHardState } from '../raft/util.js';
import { mkdirDurable, preallocate, writeAll } from './fsutil.js';
import { silentLogger, type Logger } from './logger.js';
import { RecordBatch, RecordType, encodeSnapshotMarker } from './record.js';
import { repairTornTail } from './repair.js';
import { replay, type SnapRef } from './replay.js';
import { listSegments, parseSegmentName, segmentName, segmentsFrom } from './segment.js';
import { nodeWalFs, type WalFile, type WalFs } from './wal-fs.js';

export interface WalOptions {
  /** A segment is cut once it grows past this; default 64 MB like etcd. */
  segmentSizeBytes?: number;
  logger?: Logger;
  /**
   * --unsafe-no-fsync (etcd: WAL.SetUnsafeNoFsync): appends are plain writes (no
   * O_DSYNC) and no fdatasync is issued, so save() resolves before the data is on
   * disk and a power loss loses acknowledged writes. Unsafe; for tests and benchmarks.
   */
  unsafeNoFsync?: boolean;
  /** The file system under the log (default node:fs; the simulation passes a simulated disk). */
  fs?: WalFs;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1000 * 1000;

/** Where appending resumes: the tail segment's handle and position, and the state the log ends in. */
export interface TailState {
  fh: WalFile;
  seq: number;
  /** The segment's file name in the WAL directory. */
  name: string;
  offset: number;
  crc: number;
  lastIndex: number;
  hardState: HardState;
  metadata: Uint8Array;
}

/** True if `dir` holds at least one WAL segment. */
export async function walExists(dir: string, fs: WalFs = nodeWalFs): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).some((n) => parseSegmentName(n) !== undefined);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * A new log whose first segment holds the metadata and a snapshot marker at
 * {0, 0}; returns its directory (without a trailing slash) and where appending resumes.
 */
export async function createLog(dir: string, metadata: Uint8Array, opts: WalOptions = {}): Promise<{ dir: string; tail: TailState }> {
  const fs = opts.fs ?? nodeWalFs;
  if (await walExists(dir, fs)) throw new Error(`WAL already exists in ${dir}`);
  const logger = opts.logger ?? silentLogger;
  const size = opts.segmentSizeBytes ?? DEFAULT_SEGMENT_BYTES;
  const clean = dir.replace(/\/+$/, '');
  const tmp = `${clean}.tmp`;
  await fs.removeAll(tmp);
  // Durable: the parent's entry for a directory created here (e.g. a new --wal-dir).
  await mkdirDurable(fs, dirname(tmp));
  await fs.mkdirAll(tmp);

  const name = segmentName(0, 0);
  const fh = await fs.open(join(tmp, name), 'create');
  let batch: RecordBatch;
  try {
    await preallocate(fh, size, true);
    batch = new RecordBatch(0, 4096);
    batch.addCrc();
    batch.add(RecordType.Metadata, metadata);
    batch.add(RecordType.Snapshot, encodeSnapshotMarker(0, 0));
    await writeAll(fh, batch.bytes(), 0);
    if (!opts.unsafeNoFsync) await fh.datasync();
    await fs.syncDir(tmp);
    try {
      // rename() replaces an empty directory; a non-empty one is not ours to clobber.
      await fs.rename(tmp, clean);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new Error(`cannot create WAL: ${clean} exists and is not empty (but holds no *.wal)`);
      }
      throw err;
    }
    await fs.syncDir(dirname(clean));
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
  logger.info({ dir: clean, segment: name }, 'WAL: created');
  await fh.close();
  return {
    dir: clean,
    tail: {
      fh: await openForAppend(fs, join(clean, name), opts.unsafeNoFsync),
      seq: 0,
      name,
      offset: batch.length,
      crc: batch.crc,
      lastIndex: 0,
      hardState: { term: 0, vote: 0n, commit: 0 },
      metadata: metadata.slice(),
    },
  };
}

/**
 * Replays the log from the segment holding `snap` (default: the start), repairs a
 * torn tail, and returns where appending resumes and the entries replayed.
 * Throws WalCorruptError / WalSnapshotNotFoundError when the log cannot be trusted.
 */
export async function openLog(
  dir: string,
  snap: SnapRef | undefined,
  opts: WalOptions = {},
): Promise<{ tail: TailState; entries: Entry[] }> {
  const logger = opts.logger ?? silentLogger;
  const size = opts.segmentSizeBytes ?? DEFAULT_SEGMENT_BYTES;
  const at = snap ?? { index: 0, term: 0 };
  const fs = opts.fs ?? nodeWalFs;

  // Leftovers of a background segment preparation the previous process never used.
  for (const n of await fs.readdir(dir)) {
    if (n.endsWith('.wal.tmp')) await fs.unlink(join(dir, n));
  }
  const all = await listSegments(dir, fs);
  if (all.length === 0) throw new Error(`no WAL segments in ${dir}`);
  const segs = segmentsFrom(all, at.index, dir);
  const r = await replay(dir, segs, at, fs);
  const tail = segs[segs.length - 1]!;
  if (r.torn) await repairTornTail(dir, tail.name, r.tailEnd, r.torn.reason, logger, fs);

  const fh = await openForAppend(fs, join(dir, tail.name), opts.unsafeNoFsync);
  let offset = r.tailEnd;
  let crc = r.crc;
  try {
    await preallocate(fh, size, false);
    if (offset === 0) {
      // A segment that lost even its header: restart it so it can be read on its
      // own once older segments are released.
      const b = new RecordBatch(crc, 4096);
      b.addCrc();
      b.add(RecordType.Metadata, r.metadata);
      if (!isEmptyHardState(r.hardState)) b.add(RecordType.State, encodeHardState(r.hardState));
      await writeAll(fh, b.bytes(), 0);
      if (!opts.unsafeNoFsync) await fh.datasync();
      offset = b.length;
      crc = b.crc;
    }
    if (!opts.unsafeNoFsync) {
      // What replay just read may exist only in the page cache: a process killed
      // after a write but before its sync, or after renaming a segment into place
      // but before syncing the directory, leaves records and names that a power
      // cut can still take. Raft is about to act on them (votes, acknowledged
      // entries), so they are made durable first (older segments were synced
      // when they were cut; the parent holds the entry of a WAL directory that
      // createLog() renamed into place just before such a kill).
      await fh.datasync();
      await fs.syncDir(dir);
      await fs.syncDir(dirname(dir.replace(/\/+$/, '')));
    }
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
  logger.info(
    { dir, segments: segs.length, snapshotIndex: at.index, entries: r.entries.length, lastIndex: r.lastIndex },
    'WAL: opened',
  );
  return {
    tail: { fh, seq: tail.seq, name: tail.name, offset, crc, lastIndex: r.lastIndex, hardState: r.hardState, metadata: r.metadata },
    entries: r.entries,
  };
}

/**
 * Segments are appended through an O_DSYNC handle, so each write is durable when
 * it returns (on a preallocated file, no metadata needs syncing): about half the
 * latency of write + fdatasync, which is most of a small write's latency.
 */
export function openForAppend(fs: WalFs, path: string, unsafeNoFsync = false): Promise<WalFile> {
  // --unsafe-no-fsync: a plain handle; writes reach the page cache only.
  return fs.open(path, unsafeNoFsync ? 'update' : 'update-dsync');
}
