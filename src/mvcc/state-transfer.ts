// Streaming export and restore of the whole MVCC LevelDB (Raft snapshot
// installation for a member that fell behind the leader's compacted log).
//
// Why the image is consistent: every Backend batch holds whole revisions plus
// the consistent index covering exactly them, and LevelDB applies a batch
// atomically. So any LevelDB snapshot is a state the store could have crashed
// in and reopened from. The export flushes the write buffer first (so it holds
// at least everything applied before exportState was called), then reads one
// explicit LevelDB snapshot: writes and compaction batches landing while a slow
// receiver drains the stream are not seen. A snapshot caught in the middle of a
// physical compaction carries scheduledCompactRev > finishedCompactRev, and the
// receiver's open() finishes that compaction, exactly as after a crash.

import { mkdir, readdir, rm } from 'node:fs/promises';
import { Level } from 'level';
import type { Backend } from './backend.js';
import { META_CONSISTENT_INDEX, META_FINISHED_COMPACT, META_SCHEDULED_COMPACT, REVISIONS_END } from './keyspace.js';
import { parseRevKey, readU64, revKey } from './revision.js';
import { ChunkWriter, encodeHeader, ImageParser, StateImageError, type ImageSummary } from './state-format.js';

import type { DbSnapshot, KvDb } from './db.js';

type Db = Level<Uint8Array, Uint8Array>;
type Op = { type: 'put'; key: Uint8Array; value: Uint8Array };

export interface ExportOptions {
  /** Size of every emitted chunk but the last (default 256 KiB). */
  chunkBytes?: number;
  /** LevelDB entries read per iterator step (default 1000). */
  readBatch?: number;
}

export interface RestoreOptions {
  /** Pairs are written to LevelDB in batches of about this many bytes (default 4 MiB). */
  writeBatchBytes?: number;
}

// Mirrors what MvccStore.restore() derives at open, read from the same snapshot
// as the body; restoreState checks the reopened store against it.
async function readSummary(db: KvDb, snapshot: DbSnapshot): Promise<ImageSummary> {
  const [ci, finished, scheduled] = await db.getMany([META_CONSISTENT_INDEX, META_FINISHED_COMPACT, META_SCHEDULED_COMPACT], { snapshot });
  const last = await db.keys({ gte: revKey(0, 0), lt: REVISIONS_END, reverse: true, limit: 1, snapshot }).all();
  const finishedRev = finished ? readU64(finished) : -1;
  const scheduledRev = scheduled ? readU64(scheduled) : 0;
  const maxMain = last.length > 0 ? parseRevKey(last[0]!).main : 1;
  return {
    consistentIndex: ci ? readU64(ci) : 0,
    currentRevision: Math.max(maxMain, finishedRev, scheduledRev, 1),
    compactRevision: scheduled && scheduledRev > finishedRev ? scheduledRev : finishedRev,
  };
}

/** The image as chunks; memory stays at about one read batch plus its chunks. */
export async function* exportImage(backend: Backend, opts: ExportOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const chunkBytes = opts.chunkBytes ?? 256 << 10;
  const readBatch = opts.readBatch ?? 1000;
  await backend.flush();
  const db = backend.db;
  // Taken as soon as the flush settles. Batches committed later (timer flushes,
  // compaction deletes) are not in the image; since each is atomic and whole,
  // the image is never torn either way.
  const snapshot = db.snapshot();
  try {
    const w = new ChunkWriter(chunkBytes);
    w.write(encodeHeader(await readSummary(db, snapshot)));
    const it = db.iterator({ snapshot });
    let count = 0;
    try {
      for (;;) {
        const entries = await it.nextv(readBatch);
        if (entries.length === 0) break;
        for (const [k, v] of entries) w.writePair(k, v);
        count += entries.length;
        yield* w.take();
      }
    } finally {
      await it.close();
    }
    w.writeTrailer(count);
    yield* w.take();
    const rest = w.rest();
    if (rest !== undefined) yield rest;
  } finally {
    // Also runs when the consumer stops early (transport error): release the
    // snapshot so LevelDB can compact again.
    await snapshot.close();
  }
}

async function isMissingOrEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/**
 * Writes an image into a new LevelDB at `dir` (missing or empty). Succeeds only
 * once the trailer CRC matched; the last batch is written with sync so the
 * whole image is on disk when this resolves. On any failure the directory is
 * removed and the error rethrown.
 */
export async function restoreImage(dir: string, chunks: AsyncIterable<Uint8Array>, opts: RestoreOptions = {}): Promise<ImageSummary> {
  if (!(await isMissingOrEmpty(dir))) throw new StateImageError(`restore target ${dir} exists and is not empty`);
  const batchBytes = opts.writeBatchBytes ?? 4 << 20;
  await mkdir(dir, { recursive: true });
  const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', writeBufferSize: 4 << 20 });
  try {
    await db.open();
    const parser = new ImageParser();
    let summary: ImageSummary | undefined;
    let ops: Op[] = [];
    let bytes = 0;
    let last: Op | undefined;
    for await (const chunk of chunks) {
      for (const item of parser.push(chunk)) {
        if (item.kind === 'header') summary = item.summary;
        else if (item.kind === 'pair') {
          last = { type: 'put', key: item.key, value: item.value };
          ops.push(last);
          bytes += item.key.length + item.value.length;
          if (bytes >= batchBytes || ops.length >= 10_000) {
            await db.batch(ops);
            ops = [];
            bytes = 0;
          }
        }
      }
    }
    parser.finish();
    // Re-putting the last pair (idempotent) gives the sync write something to
    // carry when the final batch happened to be empty.
    if (ops.length === 0 && last !== undefined) ops.push(last);
    if (ops.length > 0) await db.batch(ops, { sync: true });
    await db.close();
    return summary!;
  } catch (err) {
    await db.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
