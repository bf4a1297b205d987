// In-place migration: bin/etcd-ts started on a data dir etcd 3.4 wrote (member/snap/db,
// member/snap/*.snap, member/wal/*.wal) imports it on that first start and keeps
// the original files, untouched, in <data-dir>/etcd-backup-<time>/member.
//
// Steps, each a rename a crash cannot tear:
//   1. build our member dir in <data-dir>/.etcd-ts-import/member (a crash here:
//      the staging dir is thrown away and the import starts over);
//   2. write .etcd-ts-import/READY naming the backup dir (fsync'ed);
//   3. rename member → etcd-backup-<time>/member;
//   4. rename .etcd-ts-import/member → member, remove the staging dir.
// A start that finds READY rolls steps 3 and 4 forward.

import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { readEtcdImage } from '../../snapshot/etcd-image.js';
import { planFromEtcdMember } from './etcd-plan.js';
import { exists, writeInto } from './member-dir.js';

const STAGING = '.etcd-ts-import';
const READY = 'READY';

export interface InPlaceConfig {
  dataDir: string;
  walDir: string;
  bcryptCost: number;
}

/** etcd's layout: the backend file member/snap/db, and none of ours (member/db). */
async function isEtcdMember(memberDir: string): Promise<boolean> {
  try {
    if (!(await stat(join(memberDir, 'snap', 'db'))).isFile()) return false;
  } catch {
    return false;
  }
  return !(await exists(join(memberDir, 'db')));
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeDurably(file: string, text: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Steps 3 and 4: the originals to the backup, ours into place. */
async function placeImported(dataDir: string, backup: string, logger: Logger): Promise<void> {
  const memberDir = join(dataDir, 'member');
  const staging = join(dataDir, STAGING);
  if (await isEtcdMember(memberDir)) {
    await mkdir(backup, { recursive: true });
    await rename(memberDir, join(backup, 'member'));
  }
  if (!(await exists(memberDir))) await rename(join(staging, 'member'), memberDir);
  await fsyncPath(dataDir);
  await rm(staging, { recursive: true, force: true });
  logger.warn({ backup: join(backup, 'member'), 'data-dir': dataDir }, 'imported the etcd 3.4 data dir; its original files are kept in the backup folder');
}

/**
 * Imports an etcd 3.4 member data dir in place; returns false when `dataDir` holds
 * none (a data dir of ours, or a fresh one), true once ours is in place.
 */
export async function migrateEtcdDataDir(cfg: InPlaceConfig, logger: Logger): Promise<boolean> {
  const dataDir = resolve(cfg.dataDir);
  const memberDir = join(dataDir, 'member');
  const staging = join(dataDir, STAGING);
  const ready = join(staging, READY);
  if (await exists(ready)) {
    logger.warn({ 'data-dir': dataDir }, 'finishing an interrupted import of an etcd data dir');
    await placeImported(dataDir, (await readFile(ready, 'utf8')).trim(), logger);
    return true;
  }
  if (!(await isEtcdMember(memberDir))) return false;
  const walDir = join(memberDir, 'wal');
  if (cfg.walDir !== '' && resolve(cfg.walDir) !== walDir) {
    throw new Error(
      `${dataDir} holds an etcd 3.4 member, but --wal-dir=${cfg.walDir} is set: importing a WAL kept outside the data dir in place is not supported; ` +
        'restore the member from a snapshot instead (etcd-ts snapshot restore)',
    );
  }
  logger.warn({ 'data-dir': dataDir }, 'found an etcd 3.4 data dir (member/snap/db); importing it');
  await rm(staging, { recursive: true, force: true });
  const image = await readEtcdImage(join(memberDir, 'snap', 'db'));
  try {
    const { plan, summary } = await planFromEtcdMember(memberDir, walDir, image, cfg.bcryptCost, logger);
    await writeInto(join(staging, 'member'), join(staging, 'member', 'wal'), plan, logger);
    logger.info(summary, 'converted the etcd member');
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  } finally {
    await image.close();
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const backup = join(dataDir, `etcd-backup-${stamp}`);
  await writeDurably(ready, backup);
  await fsyncPath(staging);
  await placeImported(dataDir, backup, logger);
  return true;
}
