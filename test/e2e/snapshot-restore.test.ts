// etcd → etcd-ts (and etcd-ts → etcd-ts) from a backup: a real etcd 3.4.23 (or
// one etcd-ts member) with history (revisions, a delete, a compaction, leases, a
// user and a role), `etcdctl snapshot save`, then `bin/etcd-ts snapshot restore`
// once per member and a new 3-member etcd-ts cluster on the restored dirs: every
// member serves what the source served (revisions included), and `etcdctl
// endpoint hashkv` agrees across them and with the source.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ctl, hashKvs, membersOn, served, writeHistory, type Served } from './helpers/etcd-import.js';
import { HAVE_ETCD, IN_CI, requireEtcdctl } from './helpers/etcd-process.js';
import { BIN, freePort, type Member } from './helpers/member.js';

if (IN_CI && !HAVE_ETCD) throw new Error('etcd 3.4.23 must be on PATH in CI');

function restore(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(BIN, ['snapshot', 'restore', ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

describe.skipIf(!HAVE_ETCD || !requireEtcdctl())('snapshot restore into a 3-member etcd-ts cluster', () => {
  const started: Member[] = [];
  let work = '';

  afterEach(async () => {
    await Promise.all(started.splice(0).map((m) => m.stop()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it.each(['etcd', 'etcd-ts'] as const)('from a snapshot of %s: every key, revision, lease, user and role on every member', async (impl) => {
    work = await mkdtemp(join(tmpdir(), 'etcd-ts-restore-e2e-'));
    const [source] = await membersOn(impl, [join(work, 'source')]);
    started.push(source!);
    await source!.start();
    await writeHistory(source!.clientPort);
    const expected: Served = await served(source!.clientPort);
    expect(expected.leases).toHaveLength(2);
    expect(expected.users).toBe('alice\n');
    expect(expected.history).toContain('"mod_revision":5');
    expect((expected.kvs as unknown[]).length).toBe(41); // 40 keys, one deleted, two leased
    const [sourceHash] = await hashKvs([source!.clientPort]);
    const file = join(work, 'backup.db');
    await ctl(source!.clientPort, ['snapshot', 'save', file]);
    await source!.stop();

    const ports = await Promise.all([0, 1, 2].map(async () => ({ client: await freePort(), peer: await freePort() })));
    const dirs = [0, 1, 2].map((i) => join(work, `ts-${i}`));
    const cluster = ports.map((p, i) => `${String.fromCharCode(97 + i)}=http://127.0.0.1:${p.peer}`).join(',');
    for (let i = 0; i < 3; i++) {
      const r = await restore([
        file, '--name', String.fromCharCode(97 + i), '--data-dir', dirs[i]!, '--initial-cluster', cluster,
        '--initial-cluster-token', 'restored', '--initial-advertise-peer-urls', `http://127.0.0.1:${ports[i]!.peer}`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
    }
    const members = await membersOn('etcd-ts', dirs, ports);
    started.push(...members);
    await Promise.all(members.map((m) => m.start()));

    for (const m of members) {
      const got = await served(m.clientPort);
      expect(got).toEqual(expected);
    }
    const hashes = await hashKvs(members.map((m) => m.clientPort));
    expect(new Set(hashes)).toEqual(new Set([sourceHash]));
    // The new cluster is its own: three members under the restore's ids, and it takes writes.
    const list = await ctl(members[0]!.clientPort, ['member', 'list']);
    expect(list.trim().split('\n')).toHaveLength(3);
    await ctl(members[1]!.clientPort, ['put', 'after-restore', 'x']);
    expect(JSON.parse(await ctl(members[2]!.clientPort, ['get', 'after-restore', '-w', 'json'])).kvs[0].mod_revision).toBe(expected.revision + 1);
  }, 240_000);
});
