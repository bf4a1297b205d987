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

import type { Backend } from './backend.js';
import type { DbSnapshot } from './db.js';
import { bucketEnd } from './keyspace.js';

export interface StoreView {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** The pairs of one bucket (keyspace.ts prefix byte), in key order, `batch` at a time. */
  scan(prefix: number, batch?: number): AsyncGenerator<[Uint8Array, Uint8Array][], void, undefined>;
  /** Releases the LevelDB snapshot (LevelDB then drops what only it kept). */
  close(): Promise<void>;
}

export async function openStoreView(backend: Backend): Promise<StoreView> {
  await backend.flush();
  const db = backend.db;
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
