// In-place import of an etcd 3.4 data dir (src/server/etcd-import/in-place.ts) on
// a dir the real etcd 3.4.23 wrote at test time: what the import does to the
// directory, a crash at each step, and the refusals that leave etcd's files as
// they were.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MvccStore } from '../../src/mvcc/index.js';
import { migrateEtcdDataDir } from '../../src/server/etcd-import/in-place.js';
import { walFileNames } from '../../src/snapshot/etcd-wal/index.js';
import { WAL } from '../../src/wal/index.js';
import { etcdctl, HAVE_ETCD, IN_CI } from '../e2e/helpers/etcd-process.js';
import { fileHashes as tree } from '../e2e/helpers/etcd-import.js';
import { Member } from '../e2e/helpers/member.js';

if (IN_CI && !HAVE_ETCD) throw new Error('etcd 3.4.23 must be on PATH in CI');

const silent = pino({ level: 'silent' });

describe.skipIf(!HAVE_ETCD)('in-place import of an etcd 3.4 data dir', () => {
  let work: string;
  let pristine: string;
  let n = 0;
  const copy = async (): Promise<string> => {
    const d = join(work, `copy-${n++}`);
    await cp(pristine, d, { recursive: true });
    return d;
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'etcd-inplace-unit-'));
    pristine = join(work, 'pristine');
    const etcd = await Member.create({ impl: 'etcd', name: 'p1', dataDir: pristine });
    await etcd.start();
    try {
      for (let i = 0; i < 5; i++) expect((await etcdctl(etcd.clientPort, ['put', `k${i}`, `v${i}`])).code).toBe(0);
    } finally {
      await etcd.stop();
    }
  }, 60_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const cfg = (dataDir: string, walDir = '') => ({ dataDir, walDir, bcryptCost: 4 });

  it('moves the originals untouched to etcd-backup-<time>/member and puts our member dir in place', async () => {
    const d = await copy();
    const before = await tree(join(d, 'member'));
    expect(await migrateEtcdDataDir(cfg(d), silent)).toBe(true);
    const names = await readdir(d);
    const backup = names.find((x) => x.startsWith('etcd-backup-'))!;
    expect(names.sort()).toEqual([backup, 'member'].sort());
    expect(await tree(join(d, backup, 'member'))).toEqual(before);
    expect(await WAL.exists(join(d, 'member', 'wal'))).toBe(true);
    const store = await MvccStore.open(join(d, 'member', 'db'));
    expect(store.currentRevision()).toBe(6);
    await store.close();
    // Ours now: a second start imports nothing.
    expect(await migrateEtcdDataDir(cfg(d), silent)).toBe(false);
  });

  it('a fresh or our own data dir is left alone', async () => {
    const empty = join(work, 'empty');
    await mkdir(empty);
    expect(await migrateEtcdDataDir(cfg(empty), silent)).toBe(false);
    expect(await readdir(empty)).toEqual([]);
    expect(await migrateEtcdDataDir(cfg(join(work, 'missing')), silent)).toBe(false);
  });

  it('a crash after staging (READY written) is rolled forward at the next start, whichever rename was done', async () => {
    for (const doneBackup of [false, true]) {
      const d = await copy();
      const before = await tree(join(d, 'member'));
      // Stage a complete import elsewhere, then lay out what a crash would leave.
      const scratch = await copy();
      expect(await migrateEtcdDataDir(cfg(scratch), silent)).toBe(true);
      const staging = join(d, '.etcd-ts-import');
      await mkdir(staging);
      await cp(join(scratch, 'member'), join(staging, 'member'), { recursive: true });
      const backup = join(d, 'etcd-backup-crashed');
      await writeFile(join(staging, 'READY'), backup);
      if (doneBackup) {
        await mkdir(backup);
        await cp(join(d, 'member'), join(backup, 'member'), { recursive: true });
        await rm(join(d, 'member'), { recursive: true });
      }
      expect(await migrateEtcdDataDir(cfg(d), silent)).toBe(true);
      expect((await readdir(d)).sort()).toEqual(['etcd-backup-crashed', 'member']);
      expect(await tree(join(backup, 'member'))).toEqual(before);
      expect((await stat(join(d, 'member', 'db'))).isDirectory()).toBe(true);
    }
  });

  it('a staging dir without READY (a crash while building) is thrown away and the import starts over', async () => {
    const d = await copy();
    await mkdir(join(d, '.etcd-ts-import', 'member', 'db'), { recursive: true });
    await writeFile(join(d, '.etcd-ts-import', 'member', 'db', 'junk'), 'half');
    expect(await migrateEtcdDataDir(cfg(d), silent)).toBe(true);
    expect((await readdir(d)).filter((x) => !x.startsWith('etcd-backup-'))).toEqual(['member']);
  });

  it('a corrupt etcd WAL stops the import with the file and offset, and leaves etcd\'s files as they were', async () => {
    const d = await copy();
    const [seg] = await walFileNames(join(d, 'member', 'wal'));
    const file = join(d, 'member', 'wal', seg!.name);
    const buf = await readFile(file);
    const at = buf.indexOf(Buffer.from('v3'));
    buf[at] ^= 0x01;
    await writeFile(file, buf);
    const before = await tree(join(d, 'member'));
    await expect(migrateEtcdDataDir(cfg(d), silent)).rejects.toThrow(new RegExp(`etcd WAL .*${seg!.name} is corrupt at offset \\d+: walpb: crc mismatch`));
    expect(await readdir(d)).toEqual(['member']);
    expect(await tree(join(d, 'member'))).toEqual(before);
  });

  it('a --wal-dir outside the data dir is refused with a clear message, nothing touched', async () => {
    const d = await copy();
    const before = await tree(join(d, 'member'));
    await expect(migrateEtcdDataDir(cfg(d, join(work, 'elsewhere')), silent)).rejects.toThrow(/--wal-dir=.* is set: importing a WAL kept outside the data dir in place is not supported/);
    expect(await tree(join(d, 'member'))).toEqual(before);
  });
});
