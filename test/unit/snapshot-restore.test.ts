// `etcd-ts snapshot restore` on a snapshot the real etcd 3.4.23 saved at test time:
// the store it writes holds every revision, lease and auth record; bad input gets
// the error etcdctl 3.4.23 prints for the same arguments (run beside it here), and
// unlike etcdctl, a failed restore leaves no directory behind.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MvccStore } from '../../src/mvcc/index.js';
import { AUTH_ROLE_PREFIX, AUTH_USER_PREFIX, LEASE_PREFIX } from '../../src/mvcc/keyspace.js';
import { parseRestoreArgs } from '../../src/snapshot-cli/restore-args.js';
import { restoreSnapshot } from '../../src/snapshot-cli/restore.js';
import { WAL } from '../../src/wal/index.js';
import { canRunEtcd, etcdSnapshotFixture, type EtcdSnapshotFixture } from './snapshot-etcd-fixture.js';

const silent = pino({ level: 'silent' });

function etcdctlRestore(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res) => {
    execFile('etcdctl', ['snapshot', 'restore', ...args], { timeout: 30_000, env: { ...process.env, ETCDCTL_API: '3' } }, (err, _out, stderr) =>
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

/** The "Error: ..." line etcdctl printed (its log lines are JSON). */
const errorLine = (stderr: string): string | undefined => stderr.split('\n').find((l) => l.startsWith('Error: '));

async function ours(args: string[]): Promise<string | undefined> {
  try {
    await restoreSnapshot(parseRestoreArgs(args), silent);
    return undefined;
  } catch (err) {
    return `Error: ${(err as Error).message}`;
  }
}

const gone = async (p: string): Promise<boolean> => stat(p).then(() => false, () => true);

describe.skipIf(!canRunEtcd())('snapshot restore', () => {
  let fx: EtcdSnapshotFixture;
  let work: string;

  beforeAll(async () => {
    fx = await etcdSnapshotFixture(150);
    work = await mkdtemp(join(tmpdir(), 'etcd-ts-restore-'));
  }, 120_000);

  afterAll(async () => {
    if (fx) await rm(fx.dir, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('writes a store with every key revision, the compaction, the lease and auth, at the new cluster\'s consistent index', async () => {
    const dataDir = join(work, 'ok');
    const cluster = 'a=http://127.0.0.1:1,b=http://127.0.0.1:2,c=http://127.0.0.1:3';
    expect(await ours([fx.path, '--name', 'b', '--initial-cluster', cluster, '--initial-advertise-peer-urls', 'http://127.0.0.1:2', '--data-dir', dataDir])).toBeUndefined();
    expect(await WAL.exists(join(dataDir, 'member', 'wal'))).toBe(true);
    const store = await MvccStore.open(join(dataDir, 'member', 'db'));
    try {
      expect(store.consistentIndex()).toBe(3);
      expect(store.compactRevision()).toBe(fx.compactedAt);
      expect(store.currentRevision()).toBe(fx.status.revision);
      const all = await store.range({
        key: Buffer.from([0]), rangeEnd: Buffer.from([0]), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0, serializable: true,
        keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
      });
      const got = all.kvs.map((kv) => ({
        key: Buffer.from(kv.key).toString('base64'),
        create_revision: kv.createRevision,
        mod_revision: kv.modRevision,
        version: kv.version,
        value: Buffer.from(kv.value).toString('base64'),
        ...(kv.lease !== 0n ? { lease: kv.lease.toString() } : {}),
      }));
      expect(got).toEqual(fx.kvs);
      expect((await store.backend.scanRaw(LEASE_PREFIX)).length).toBe(1);
      expect((await store.backend.scanRaw(AUTH_USER_PREFIX)).length).toBe(1);
      expect((await store.backend.scanRaw(AUTH_ROLE_PREFIX)).length).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('--wal-dir: the WAL goes there, the data dir holds the rest', async () => {
    const dataDir = join(work, 'with-wal-dir');
    const walDir = join(work, 'separate-wal');
    expect(await ours([fx.path, '--data-dir', dataDir, '--wal-dir', walDir])).toBeUndefined();
    expect(await WAL.exists(walDir)).toBe(true);
    expect((await readdir(join(dataDir, 'member'))).sort()).toEqual(['db', 'snap']);
    expect((await readdir(work)).filter((n) => n.includes('.restore-'))).toEqual([]);
  });

  describe('bad input: etcdctl 3.4.23\'s error, and nothing left behind', () => {
    const cases: { name: string; args: (d: string) => Promise<string[]> }[] = [
      { name: 'data dir exists', args: async (d) => [fx.path, '--data-dir', work] },
      {
        name: 'truncated file (no hash)',
        args: async (d) => {
          const f = `${d}.truncated.db`;
          await writeFile(f, (await readFile(fx.path)).subarray(0, 8192));
          return [f, '--data-dir', d];
        },
      },
      {
        name: 'flipped byte (hash mismatch)',
        args: async (d) => {
          const f = `${d}.flipped.db`;
          const b = await readFile(fx.path);
          b[5000] ^= 0x01;
          await writeFile(f, b);
          return [f, '--data-dir', d];
        },
      },
      {
        name: 'not a bbolt file (hash mismatch)',
        args: async (d) => {
          const f = `${d}.random.db`;
          await writeFile(f, Buffer.alloc(512 * 4 + 32, 7));
          return [f, '--data-dir', d];
        },
      },
      {
        name: 'wal dir exists',
        args: async (d) => {
          await mkdir(`${d}.wal`, { recursive: true });
          return [fx.path, '--data-dir', d, '--wal-dir', `${d}.wal`];
        },
      },
      { name: 'no such file', args: async (d) => [`${d}.missing.db`, '--data-dir', d] },
      { name: 'no argument', args: async (d) => ['--data-dir', d] },
      { name: 'local name missing', args: async (d) => [fx.path, '--data-dir', d, '--name', 'x', '--initial-cluster', 'y=http://127.0.0.1:1'] },
      { name: 'duplicate url', args: async (d) => [fx.path, '--data-dir', d, '--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:1,b=http://127.0.0.1:1', '--initial-advertise-peer-urls', 'http://127.0.0.1:1'] },
      { name: 'advertise url not in the cluster', args: async (d) => [fx.path, '--data-dir', d, '--initial-advertise-peer-urls', 'http://127.0.0.1:9'] },
      { name: 'bad url scheme', args: async (d) => [fx.path, '--data-dir', d, '--initial-cluster', 'bad'] },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const theirs = join(work, `etcdctl-${c.name.replace(/\W+/g, '-')}`);
        const args = await c.args(theirs);
        const ref = await etcdctlRestore(args);
        expect(ref.code).not.toBe(0);
        await rm(theirs, { recursive: true, force: true }); // etcdctl may leave a partial dir
        expect(await ours(args)).toBe(errorLine(ref.stderr));
        if (!args.includes(work)) expect(await gone(theirs)).toBe(true);
      });
    }

    it('--skip-hash-check restores a file whose hash does not match; a file that is not bbolt is refused (etcdctl panics)', async () => {
      const flipped = join(work, 'hash-flipped.db');
      const b = await readFile(fx.path);
      b[b.length - 1] ^= 0x01; // the trailing SHA-256 itself
      await writeFile(flipped, b);
      expect(await ours([flipped, '--data-dir', join(work, 'skip1')])).toMatch(/^Error: expected sha256 \[/);
      expect(await gone(join(work, 'skip1'))).toBe(true);
      expect(await ours([flipped, '--data-dir', join(work, 'skip1'), '--skip-hash-check'])).toBeUndefined();
      const copied = join(work, 'copied.db');
      await copyFile(fx.path, copied);
      const random = join(work, 'random.db');
      await writeFile(random, Buffer.alloc(512 * 4 + 32, 7));
      expect(await ours([random, '--data-dir', join(work, 'skip2'), '--skip-hash-check'])).toMatch(/^Error: cannot open database at .*random\.db \(/);
      expect(await gone(join(work, 'skip2'))).toBe(true);
    });
  });
});
