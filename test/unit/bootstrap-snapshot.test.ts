import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyConfState } from '../../src/raft/codec.js';
import { EntryType } from '../../src/raft/types.js';
import { Snapshotter, WAL } from '../../src/wal/index.js';
import { openFromNewestSnapshot } from '../../src/server/bootstrap.js';

const logger = pino({ level: 'silent' });
let dir: string;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ent = (index: number) => ({ term: 1, index, type: EntryType.Normal, data: new Uint8Array([index]), encoded: undefined });
const snap = (index: number) => ({ metadata: { index, term: 1, confState: emptyConfState() }, data: new Uint8Array([9]) });

describe('opening from the newest snapshot the WAL knows', () => {
  it('falls back past a snapshot file whose WAL marker was never written (crash between the two)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-ts-boot-'));
    const walDir = join(dir, 'wal');
    const snapshotter = new Snapshotter(join(dir, 'snap'));
    const wal = await WAL.create(walDir, new Uint8Array([1]));
    await wal.save({ term: 1, vote: 0n, commit: 12 }, Array.from({ length: 12 }, (_, i) => ent(i + 1)));
    await snapshotter.save(snap(5));
    await wal.saveSnapshot({ index: 5, term: 1 });
    await snapshotter.save(snap(10)); // ...and the process died before the WAL marker for 10
    await wal.close();

    const { snapshot, opened } = await openFromNewestSnapshot(walDir, snapshotter, logger);
    expect(snapshot?.metadata.index).toBe(5);
    expect(opened.entries.map((e) => e.index)).toEqual([6, 7, 8, 9, 10, 11, 12]);
    await opened.wal.close();
  });

  it('opens from the start when no snapshot has a marker', async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-ts-boot-'));
    const walDir = join(dir, 'wal');
    const snapshotter = new Snapshotter(join(dir, 'snap'));
    const wal = await WAL.create(walDir, new Uint8Array([1]));
    await wal.save({ term: 1, vote: 0n, commit: 3 }, [ent(1), ent(2), ent(3)]);
    await snapshotter.save(snap(2));
    await wal.close();
    const { snapshot, opened } = await openFromNewestSnapshot(walDir, snapshotter, logger);
    expect(snapshot).toBeUndefined();
    expect(opened.entries.length).toBe(3);
    await opened.wal.close();
  });
});
