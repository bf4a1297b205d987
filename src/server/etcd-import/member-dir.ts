// Writes a member data dir in our layout (src/server/bootstrap.ts: member/db
// LevelDB, member/snap, member/wal) from parts an import computed: the store image,
// the Raft log (entries, HardState, an optional snapshot) and the ids for the WAL
// metadata. It is written into a new directory next to the target and renamed
// into place only when complete, so a failure leaves nothing half-written.

import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { MvccStore } from '../../mvcc/index.js';
import type { Entry, HardState, Snapshot } from '../../raft/types.js';
import { Snapshotter, WAL } from '../../wal/index.js';
import { encodeWalMetadata } from '../../wal/index.js';

export interface MemberDirPlan {
  memberId: bigint;
  clusterId: bigint;
  hardState: HardState;
  /** The Raft log after `snapshot` (or from index 1). */
  entries: Entry[];
  /** Our Raft snapshot (membership in its data), when the log does not start at 1. */
  snapshot?: Snapshot;
  /** The MVCC state image (src/mvcc/state-format.ts). */
  store: AsyncIterable<Uint8Array>;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Writes `plan` under `memberDir` (member/…) and `walDir`, both of which must not exist yet. */
export async function writeInto(memberDir: string, walDir: string, plan: MemberDirPlan, logger: Logger): Promise<void> {
  await mkdir(memberDir, { recursive: true });
  const store = await MvccStore.restoreState(join(memberDir, 'db'), plan.store, { logger });
  await store.close();
  const snapDir = join(memberDir, 'snap');
  await mkdir(snapDir, { recursive: true });
  if (plan.snapshot) await new Snapshotter(snapDir, logger).save(plan.snapshot);
  await mkdir(dirname(walDir), { recursive: true });
  const wal = await WAL.create(walDir, encodeWalMetadata(plan.memberId, plan.clusterId), { logger });
  try {
    if (plan.snapshot) await wal.saveSnapshot({ index: plan.snapshot.metadata.index, term: plan.snapshot.metadata.term });
    // In slices: one record batch per slice, not one buffer for the whole log.
    for (let i = 0; i < plan.entries.length; i += 4096) await wal.save(undefined, plan.entries.slice(i, i + 4096));
    await wal.save(plan.hardState, []);
  } finally {
    await wal.close();
  }
}

/**
 * Builds `<dataDir>/member` (and `walDir` when it lies outside it) in temporary
 * directories, then renames them into place. `createDataDir`: `dataDir` must not
 * exist and is created by the final rename (a restore); otherwise it exists
 * (in-place migration: it holds the backup) and must have no `member`.
 */
export async function writeMemberDir(
  dataDir: string,
  walDir: string | undefined,
  plan: MemberDirPlan,
  logger: Logger,
  createDataDir: boolean,
): Promise<void> {
  const root = resolve(dataDir);
  const defaultWal = join(root, 'member', 'wal');
  const separateWal = walDir !== undefined && walDir !== '' && resolve(walDir) !== defaultWal ? resolve(walDir) : undefined;
  await mkdir(createDataDir ? dirname(root) : root, { recursive: true });
  const tmp = createDataDir ? await mkdtemp(`${root}.restore-`) : await mkdtemp(join(root, '.import-'));
  const tmpWal = separateWal ? `${separateWal}.restore-${basename(tmp)}` : undefined;
  let walPlaced = false;
  try {
    await writeInto(join(tmp, 'member'), tmpWal ?? join(tmp, 'member', 'wal'), plan, logger);
    if (tmpWal && separateWal) {
      await mkdir(dirname(separateWal), { recursive: true });
      await rename(tmpWal, separateWal);
      walPlaced = true;
    }
    if (createDataDir) await rename(tmp, root);
    else await rename(join(tmp, 'member'), join(root, 'member'));
  } catch (err) {
    if (tmpWal) await rm(tmpWal, { recursive: true, force: true });
    if (walPlaced && separateWal) await rm(separateWal, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  if (!createDataDir) await rm(tmp, { recursive: true, force: true });
}
