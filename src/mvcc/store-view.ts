// A read-only point-in-time view of the whole backend (every bucket of
// keyspace.ts), for exports that take long (Maintenance.Snapshot): one LevelDB
// snapshot, read in bounded batches, while the store goes on applying writes.
//
// Why it is consistent: the write buffer is flushed first (so the view holds
// at least everything applied before it was asked for), then one LevelDB
// snapshot is taken. Every Backend batch holds whole entries plus the
// consistent index covering exactly them, and LevelDB applies a batch
// atomically, so the view is a state the store could have crashed in.
// Compaction batches that land later are not seen; one caught half-way shows
// scheduledCompactRev above finishedCompactRev, as after a crash.
//
// LevelDB's files are read directly when the database has them (pinTables:
// the memtable written out, the live tables opened and read with pread, see
// leveldb-files/table-set.ts): LevelDB's iterators mmap every table they pass
// and keep it mapped, so a scan of a 1 GiB store put the whole store into the
// member's RSS. Databases without files (tests) read through a LevelDB-style
// snapshot.

import type { Backend } from './backend.js';
import type { DbSnapshot } from './db.js';
import { bucketEnd } from './keyspace.js';
import type { TableSet } from './leveldb-files/table-set.js';

export interface StoreView {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** The pairs of one bucket (keyspace.ts prefix byte), in key order, `batch` at a time. */
  scan(prefix: number, batch?: number): AsyncGenerator<[Uint8Array, Uint8Array][], void, undefined>;
  /** Releases the LevelDB snapshot (LevelDB then drops what only it kept). */
  close(): Promise<void>;
}

/** A batch of a scan ends at this many bytes of keys and values too (10 kB values: ~100 pairs, not 1000). */
const SCAN_BATCH_BYTES = 1 << 20;

export async function openStoreView(backend: Backend): Promise<StoreView> {
  await backend.flush();
  const db = backend.db;
  if (db.pinTables) {
    try {
      return tableSetView(await db.pinTables());
    } catch (err) {
      // The files did not read as LevelDB 1.20 writes them (or kept changing):
      // a snapshot through LevelDB's own reader still works, at the RSS cost.
      backend.logger?.warn({ err }, 'mvcc: reading the table files failed; reading through LevelDB instead');
    }
  }
  const snapshot: DbSnapshot = db.snapshot();
  let closed = false;
  return {
    async get(key) {
      return (await db.getMany([key], { snapshot }))[0];
    },
    async *scan(prefix, batch = 1000) {
      const it = db.iterator({ gte: Uint8Array.of(prefix), lt: bucketEnd(prefix), snapshot });
      try {
        for (;;) {
          const entries = await it.nextv(batch);
          if (entries.length === 0) return;
          yield entries;
        }
      } finally {
        await it.close();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await snapshot.close();
    },
  };
}

function tableSetView(tables: TableSet): StoreView {
  return {
    async get(key) {
      const lt = new Uint8Array(key.length + 1);
      lt.set(key);
      for await (const batch of tables.scan({ gte: key, lt, maxEntries: 1, maxBytes: SCAN_BATCH_BYTES })) return batch[0]![1];
      return undefined;
    },
    scan(prefix, batch = 1000) {
      return tables.scan({ gte: Uint8Array.of(prefix), lt: bucketEnd(prefix), maxEntries: batch, maxBytes: SCAN_BATCH_BYTES });
    },
    close: () => tables.close(),
  };
}
