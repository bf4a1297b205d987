// The set of live table files of a LevelDB database (its current Version),
// rebuilt from the VersionEdit records of its MANIFEST (db/version_edit.cc):
// each edit adds files to levels and deletes others; applied in order they
// give the version LevelDB itself would recover.

import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { copyBytes, Cursor } from './coding.js';
import { LOG_BLOCK, LogRecordReader } from './log-records.js';

export interface TableFileMeta {
  level: number;
  number: number;
  size: number;
  smallest: Uint8Array;
  largest: Uint8Array;
}

const COMPARATOR = 1, LOG_NUMBER = 2, NEXT_FILE = 3, LAST_SEQUENCE = 4, COMPACT_POINTER = 5, DELETED_FILE = 6, NEW_FILE = 7, PREV_LOG_NUMBER = 9;
export const NUM_LEVELS = 7;
const BYTEWISE = 'leveldb.BytewiseComparator';

/** Folds VersionEdit records into the live files per level. */
export class VersionBuilder {
  readonly levels: Map<number, TableFileMeta>[] = Array.from({ length: NUM_LEVELS }, () => new Map());

  apply(record: Uint8Array): void {
    const c = new Cursor(record);
    while (!c.done) {
      const tag = c.varint();
      switch (tag) {
        case COMPARATOR: {
          const name = Buffer.from(c.lengthPrefixed()).toString('latin1');
          // Our reader orders keys bytewise; another comparator is not ours to read.
          if (name !== BYTEWISE) throw new Error(`leveldb: comparator ${name} is not ${BYTEWISE}`);
          break;
        }
        case LOG_NUMBER: case NEXT_FILE: case LAST_SEQUENCE: case PREV_LOG_NUMBER: c.varint(); break;
        case COMPACT_POINTER: this.level(c); c.lengthPrefixed(); break;
        case DELETED_FILE: { const level = this.level(c); this.levels[level]!.delete(c.varint()); break; }
        case NEW_FILE: {
          const level = this.level(c);
          const number = c.varint();
          const size = c.varint();
          const smallest = copyBytes(c.lengthPrefixed());
          const largest = copyBytes(c.lengthPrefixed());
          this.levels[level]!.set(number, { level, number, size, smallest, largest });
          break;
        }
        default: throw new Error(`leveldb: unknown version edit tag ${tag}`);
      }
    }
  }

  private level(c: Cursor): number {
    const l = c.varint();
    if (l >= NUM_LEVELS) throw new Error(`leveldb: bad level ${l}`);
    return l;
  }

  files(): TableFileMeta[] { return this.levels.flatMap((m) => [...m.values()]); }
}

/**
 * The live table files of the database in `dir`, as its MANIFEST says now.
 * Reads CURRENT, then the MANIFEST one 32 KiB block at a time (it grows with
 * every flush and compaction while the database is open; only complete
 * records count).
 */
export async function readLiveTables(dir: string): Promise<TableFileMeta[]> {
  const fh0 = await open(join(dir, 'CURRENT'), 'r');
  let current: string;
  try { current = (await fh0.readFile('latin1')).trim(); } finally { await fh0.close(); }
  if (!/^MANIFEST-\d+$/.test(current)) throw new Error(`leveldb: CURRENT names ${JSON.stringify(current)}`);
  const fh = await open(join(dir, current), 'r');
  try {
    const reader = new LogRecordReader(current);
    const builder = new VersionBuilder();
    const buf = Buffer.allocUnsafe(LOG_BLOCK);
    for (let at = 0; ; at += LOG_BLOCK) {
      const { bytesRead } = await fh.read(buf, 0, LOG_BLOCK, at);
      const last = bytesRead < LOG_BLOCK;
      for (const rec of reader.block(buf.subarray(0, bytesRead), at, last)) builder.apply(rec);
      if (last) return builder.files();
    }
  } finally {
    await fh.close();
  }
}
