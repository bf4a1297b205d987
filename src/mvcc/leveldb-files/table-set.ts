// A point-in-time read of a LevelDB database straight from its table files,
// for long full scans (Maintenance.Snapshot) that LevelDB's own iterators
// would serve by mmap'ing every table they pass and keeping it mapped while
// it sits in LevelDB's table cache (up to 1000 tables: the whole store of a
// 1 GiB member ended up in its RSS). Here the files are read with pread (as
// etcd's snapshot reads bbolt's file, not its mmap), so the member holds one
// read window per open table, and the pages stay in the page cache.
//
// Why it is a point in time: the caller has LevelDB write its memtable to a
// table first, so every write made before is in a table; then the live table
// set is read from the MANIFEST and every file of it is opened. An open file
// stays readable after LevelDB's compaction unlinks it, and tables never
// change once written, so the set is frozen. A table set of a version is a
// state LevelDB passed through: memtables are written in sequence order and a
// write batch never spans two, and compaction drops only versions shadowed by
// newer ones of the same set. A file deleted between reading the MANIFEST and
// opening it means a newer version: read the MANIFEST again.

import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { compareInternal, copyBytes, typeOf, TYPE_VALUE, userKeyOf } from './coding.js';
import { openTableCursor, type EntryCursor } from './table-cursor.js';
import { readLiveTables, type TableFileMeta } from './version.js';

interface PinnedTable {
  meta: TableFileMeta;
  name: string;
  fh: FileHandle;
}

export interface TableScanOptions {
  gte: Uint8Array;
  /** Exclusive upper bound; none: to the end. */
  lt?: Uint8Array;
  /** A batch ends at this many pairs … */
  maxEntries: number;
  /** … or once its keys and values reach this many bytes. */
  maxBytes: number;
}

/** A frozen set of table files: scans read them; close() lets LevelDB's deletions take effect. */
export interface TableSet {
  /** Live pairs (newest version of each key, deletions dropped) in key order, in batches. */
  scan(opts: TableScanOptions): AsyncGenerator<[Uint8Array, Uint8Array][], void, undefined>;
  readonly tableCount: number;
  close(): Promise<void>;
}

const EMPTY = new Uint8Array(0);
const OPEN_AT_ONCE = 64;
const ATTEMPTS = 5;

const tableName = (n: number, ext: string): string => `${String(n).padStart(6, '0')}.${ext}`;

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException)?.code === 'ENOENT';

async function openTable(dir: string, meta: TableFileMeta): Promise<PinnedTable> {
  // LevelDB 1.20 writes .ldb and still reads the older .sst name.
  for (const ext of ['ldb', 'sst']) {
    try {
      const name = tableName(meta.number, ext);
      return { meta, name, fh: await open(join(dir, name), 'r') };
    } catch (err) {
      if (!isMissing(err) || ext === 'sst') throw err;
    }
  }
  throw new Error('unreachable');
}

async function closeAll(tables: PinnedTable[]): Promise<void> {
  await Promise.all(tables.map((t) => t.fh.close().catch(() => {})));
}

/** Opens every live table of the database in `dir` (see the head of this file for when to call it). */
export async function pinLiveTables(dir: string): Promise<TableSet> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const opened: PinnedTable[] = [];
    try {
      const metas = await readLiveTables(dir);
      for (let i = 0; i < metas.length; i += OPEN_AT_ONCE) {
        const chunk = await Promise.allSettled(metas.slice(i, i + OPEN_AT_ONCE).map((m) => openTable(dir, m)));
        for (const r of chunk) if (r.status === 'fulfilled') opened.push(r.value);
        const failed = chunk.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
      return tableSet(opened);
    } catch (err) {
      // A table compacted away (or a MANIFEST record read half written) while we
      // looked: the next attempt sees the newer version.
      await closeAll(opened);
      lastErr = err;
    }
  }
  throw lastErr;
}

/** Concatenates the tables of one level ≥ 1 (sorted, disjoint) into one cursor. */
async function levelCursor(tables: PinnedTable[], from: Uint8Array): Promise<EntryCursor> {
  let next = 0;
  let cur: EntryCursor | undefined;
  const self: EntryCursor = {
    key: undefined,
    value: EMPTY,
    next() {
      const r = cur!.next();
      return r ? r.then(settle) : settle();
    },
  };
  const settle = (): void | Promise<void> => {
    if (cur?.key !== undefined) { self.key = cur.key; self.value = cur.value; return; }
    return openNext();
  };
  const openNext = async (): Promise<void> => {
    while (next < tables.length) {
      const t = tables[next++]!;
      cur = await openTableCursor(t.fh, t.meta.size, t.name, from);
      if (cur.key !== undefined) { self.key = cur.key; self.value = cur.value; return; }
    }
    self.key = undefined;
  };
  await openNext();
  return self;
}

function tableSet(tables: PinnedTable[]): TableSet {
  const inRange = (t: PinnedTable, gte: Uint8Array, lt: Uint8Array | undefined): boolean =>
    Buffer.compare(userKeyOf(t.meta.largest), gte) >= 0 && (lt === undefined || Buffer.compare(userKeyOf(t.meta.smallest), lt) < 0);
  let closed = false;
  return {
    tableCount: tables.length,
    async *scan({ gte, lt, maxEntries, maxBytes }) {
      if (closed) throw new Error('leveldb: table set closed');
      const cursors: Promise<EntryCursor>[] = [];
      for (let level = 0; level < 7; level++) {
        const ts = tables.filter((t) => t.meta.level === level && inRange(t, gte, lt));
        if (level === 0) {
          // Level 0 tables may overlap each other: one cursor each.
          for (const t of ts) cursors.push(openTableCursor(t.fh, t.meta.size, t.name, gte));
        } else if (ts.length > 0) {
          ts.sort((a, b) => compareInternal(a.meta.smallest, b.meta.smallest));
          cursors.push(levelCursor(ts, gte));
        }
      }
      const open = await Promise.all(cursors);
      let batch: [Uint8Array, Uint8Array][] = [];
      let bytes = 0;
      let last: Uint8Array | undefined;
      for (;;) {
        // The smallest internal key: the next user key, its newest version first.
        let m: EntryCursor | undefined;
        for (const c of open) if (c.key !== undefined && (m === undefined || compareInternal(c.key, m.key!) < 0)) m = c;
        if (m === undefined) break;
        const ikey = m.key!;
        const uk = userKeyOf(ikey);
        if (lt !== undefined && Buffer.compare(uk, lt) >= 0) break;
        if (last === undefined || Buffer.compare(uk, last) !== 0) {
          last = uk;
          if (typeOf(ikey) === TYPE_VALUE && Buffer.compare(uk, gte) >= 0) {
            // Copies: the cursor's block (and read window) is reused.
            batch.push([copyBytes(uk), copyBytes(m.value)]);
            bytes += uk.length + m.value.length;
            if (batch.length >= maxEntries || bytes >= maxBytes) {
              yield batch;
              batch = [];
              bytes = 0;
            }
          }
        }
        const r = m.next();
        if (r) await r;
      }
      if (batch.length > 0) yield batch;
    },
    async close() {
      if (closed) return;
      closed = true;
      await closeAll(tables);
    },
  };
}
