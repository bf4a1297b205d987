// A Raft snapshot lets the WAL go below its index: the store's state at that
// index must then survive a power loss, and start-up must refuse a store that
// is behind the newest snapshot instead of serving the gap.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MvccStore } from '../../src/mvcc/index.js';
import { emptyConfState } from '../../src/raft/codec.js';
import { MemoryStorage } from '../../src/raft/index.js';
import { EntryType } from '../../src/raft/types.js';
import { Snapshotter, WAL } from '../../src/wal/index.js';
import { assertStoreCoversSnapshot, openFromNewestSnapshot, StoreBehindSnapshotError } from '../../src/server/bootstrap.js';
import { LogCompactor } from '../../src/server/log-compactor.js';
import { Membership } from '../../src/server/membership.js';
import { CrashableDisks } from './crashable-db.js';
import { pr, rr } from './mvcc-helpers.js';

const logger = pino({ level: 'silent' });
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

const ent = (index: number) => ({ term: 1, index, type: EntryType.Normal, data: new Uint8Array([index & 0xff]), encoded: undefined });

describe('snapshot durability', () => {
  it('keeps every entry up to a snapshot index through a power loss after the WAL was released', async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-ts-snapdur-'));
    const walDir = join(dir, 'wal'), dbDir = join(dir, 'db');
    const snapshotter = new Snapshotter(join(dir, 'snap'));
    const wal = await WAL.create(walDir, new Uint8Array([1]));
    const disks = new CrashableDisks();
    // No timer flushes: only the snapshot path writes the store.
    const store = await MvccStore.open(dbDir, { openDb: disks.openDb, flushIntervalMs: 3_600_000 });
    const storage = new MemoryStorage();
    const N = 20;
    const entries = Array.from({ length: N }, (_, i) => ent(i + 1));
    storage.append(entries);
    await wal.save({ term: 1, vote: 0n, commit: N }, entries);
    for (let i = 1; i <= N; i++) await store.put(pr(`k${i}`, `v${i}`), i);

    const compactor = new LogCompactor(
      {
        snapshotCount: 10, storage, wal, snapshotter, store: () => store,
        membership: new Membership(1n, 1n), confState: () => emptyConfState(), logger,
      },
      0,
    );
    compactor.maybeSnapshot(N);
    await compactor.idle();
    await wal.close();
    expect((await snapshotter.load())?.metadata.index).toBe(N);

    // Power loss: the store is abandoned, LevelDB keeps only what was synced.
    disks.disk(dbDir).powerLoss();
    const reopened = await MvccStore.open(dbDir, { openDb: disks.openDb, flushIntervalMs: 3_600_000 });
    const { snapshot, opened } = await openFromNewestSnapshot(walDir, snapshotter, logger);
    await opened.wal.close();
    // The WAL only replays what follows the snapshot: everything at or below it must be in the store.
    expect(snapshot?.metadata.index).toBe(N);
    expect(opened.entries.filter((e) => e.index <= N)).toEqual([]);
    expect(reopened.consistentIndex()).toBeGreaterThanOrEqual(N);
    expect((await reopened.range(rr('k', 'l'))).count).toBe(N);
    await reopened.close();
  });

  it('start-up refuses a store whose consistent index is below the newest snapshot', () => {
    expect(() => assertStoreCoversSnapshot(7, 10)).toThrow(StoreBehindSnapshotError);
    expect(() => assertStoreCoversSnapshot(7, 10)).toThrow(/consistent index 7 .*snapshot index 10/);
    expect(() => assertStoreCoversSnapshot(10, 10)).not.toThrow();
    expect(() => assertStoreCoversSnapshot(12, 10)).not.toThrow();
    expect(() => assertStoreCoversSnapshot(0, undefined)).not.toThrow();
  });
});
