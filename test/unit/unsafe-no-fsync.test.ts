// --unsafe-no-fsync (etcd: WAL.SetUnsafeNoFsync, bbolt NoSync): the WAL appends
// through a plain handle (no O_DSYNC) and issues no fdatasync; the store's
// "synced" flushes go to LevelDB without sync. Off by default: both stay synced.

import { readdir, readFile, readlink, mkdtemp, rm } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType } from '../../src/raft/types.js';
import { MvccStore } from '../../src/mvcc/index.js';
import { WAL } from '../../src/wal/index.js';
import { CrashableDisks } from './crashable-db.js';
import { pr } from './mvcc-helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** open(2) flags of this process's descriptors on files under `dir` (Linux /proc). */
/** open(2)'s access mode bits (node:fs does not export O_ACCMODE). */
const O_ACCMODE = 3;

/** Flags of this process's write handles on the WAL's segments (its read-only handles, for reading entries back, aside). */
async function openFlags(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (!target.startsWith(dir) || !target.endsWith('.wal')) continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    const m = /flags:\s*([0-7]+)/.exec(info);
    if (m && (parseInt(m[1]!, 8) & O_ACCMODE) !== fsConstants.O_RDONLY) out.push(parseInt(m[1]!, 8));
  }
  return out;
}

const entry = (index: number) => ({ term: 1, index, type: EntryType.Normal, data: new Uint8Array([index]), encoded: undefined });

async function walWith(unsafeNoFsync: boolean): Promise<{ wal: WAL; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'wal-nofsync-'));
  dirs.push(dir);
  const walDir = join(dir, 'wal');
  const created = await WAL.create(walDir, new Uint8Array([1]), { segmentSizeBytes: 1 << 20, unsafeNoFsync });
  await created.close();
  const { wal } = await WAL.open(walDir, { index: 0, term: 0 }, { segmentSizeBytes: 1 << 20, unsafeNoFsync });
  return { wal, dir: walDir };
}

describe.skipIf(process.platform !== 'linux')('--unsafe-no-fsync: the WAL', () => {
  it('appends without O_DSYNC and counts no fsync, yet what it wrote reads back', async () => {
    const { wal, dir } = await walWith(true);
    await wal.save({ term: 1, vote: 0n, commit: 2 }, [entry(1), entry(2)]);
    const flags = await openFlags(dir);
    expect(flags.length).toBeGreaterThan(0);
    for (const f of flags) expect(f & fsConstants.O_DSYNC).toBe(0);
    expect(wal.fsyncCount).toBe(0);
    await wal.close();
    const again = await WAL.open(dir, { index: 0, term: 0 });
    expect(again.entries.map((e) => e.index)).toEqual([1, 2]);
    await again.wal.close();
  });

  it('by default appends through an O_DSYNC handle, one sync per batch', async () => {
    const { wal, dir } = await walWith(false);
    await wal.save({ term: 1, vote: 0n, commit: 1 }, [entry(1)]);
    const flags = await openFlags(dir);
    expect(flags.length).toBeGreaterThan(0);
    for (const f of flags) expect(f & fsConstants.O_DSYNC).toBe(fsConstants.O_DSYNC);
    expect(wal.fsyncCount).toBe(1);
    await wal.close();
  });
});

describe('--unsafe-no-fsync: the store', () => {
  it('a synced flush is written without LevelDB sync; by default with it', async () => {
    for (const unsafeNoFsync of [true, false]) {
      const disks = new CrashableDisks();
      const s = await MvccStore.open('/mem/nofsync', { openDb: disks.openDb, flushIntervalMs: 3_600_000, unsafeNoFsync });
      const before = disks.disk('/mem/nofsync').syncedBatches;
      await s.put(pr('k', 'v'), 1);
      await s.sync();
      expect(disks.disk('/mem/nofsync').syncedBatches - before).toBe(unsafeNoFsync ? 0 : 1);
      await s.close();
    }
  });
});
