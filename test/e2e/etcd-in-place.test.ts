// In-place migration: real etcd 3.4.23 writes a history (revisions, a delete, a
// compaction, leases, a user and a role) and stops; bin/etcd-ts started with the
// same flags on the same data dirs imports them and serves every key, revision and
// lease, under the same member and cluster ids, while the original files stay,
// byte for byte, in <data-dir>/etcd-backup-<time>/member.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ctl, fileHashes, hashKvs, membersOn, served, writeHistory } from './helpers/etcd-import.js';
import { etcdctl, HAVE_ETCD, IN_CI, requireEtcdctl } from './helpers/etcd-process.js';
import { Member } from './helpers/member.js';

if (IN_CI && !HAVE_ETCD) throw new Error('etcd 3.4.23 must be on PATH in CI');

async function backupOf(dataDir: string): Promise<string> {
  const names = (await readdir(dataDir)).filter((n) => n.startsWith('etcd-backup-'));
  expect(names).toHaveLength(1);
  return join(dataDir, names[0]!, 'member');
}

/** `member list` lines (id, status, name, peer and client URLs, learner), sorted. */
const memberList = async (port: number): Promise<string> => (await ctl(port, ['member', 'list'])).split('\n').filter((l) => l !== '').sort().join('\n');

describe.skipIf(!HAVE_ETCD || !requireEtcdctl())('in-place migration from etcd 3.4.23', () => {
  const started: Member[] = [];
  let work = '';

  afterEach(async () => {
    await Promise.all(started.splice(0).map((m) => m.stop()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a single member (with etcd .snap files): same keys, revisions, leases, ids; originals kept', async () => {
    work = await mkdtemp(join(tmpdir(), 'etcd-ts-inplace-'));
    const dir = join(work, 'm');
    const [etcd] = await membersOn('etcd', [dir]);
    started.push(etcd!);
    // A small --snapshot-count: etcd writes .snap files, so the import starts from one.
    etcd!.setExtraArgs(['--snapshot-count', '20']);
    await etcd!.start();
    await writeHistory(etcd!.clientPort);
    for (let i = 0; i < 30; i++) await ctl(etcd!.clientPort, ['put', `more/${i}`, String(i)]);
    const expected = await served(etcd!.clientPort);
    const members = await memberList(etcd!.clientPort);
    const etcdHash = await hashKvs([etcd!.clientPort]);
    await etcd!.stop();
    expect((await readdir(join(dir, 'member', 'snap'))).some((n) => n.endsWith('.snap'))).toBe(true);
    const originals = await fileHashes(join(dir, 'member'));

    const [ours] = await membersOn('etcd-ts', [dir], [{ client: etcd!.clientPort, peer: etcd!.peerPort }]);
    started.push(ours!);
    await ours!.start();
    expect(await served(ours!.clientPort)).toEqual(expected);
    expect(await memberList(ours!.clientPort)).toBe(members);
    expect(await hashKvs([ours!.clientPort])).toEqual(etcdHash);
    await ctl(ours!.clientPort, ['put', 'after', 'x']);
    expect(JSON.parse(await ctl(ours!.clientPort, ['get', 'after', '-w', 'json'])).kvs[0].mod_revision).toBe(expected.revision + 1);
    expect(await fileHashes(await backupOf(dir))).toEqual(originals);
    expect(ours!.log()).toMatch(/imported the etcd 3.4 data dir; its original files are kept in the backup folder/);
    expect(ours!.log()).toMatch(/"snapshot-index":[1-9]\d*,.*"msg":"converted the etcd member"/);

    // A restart is an ordinary one: nothing imported again, the write is still there.
    await ours!.stop();
    await ours!.start();
    expect(JSON.parse(await ctl(ours!.clientPort, ['get', 'after', '-w', 'json'])).kvs[0].value).toBe(Buffer.from('x').toString('base64'));
    expect((await readdir(dir)).filter((n) => n.startsWith('etcd-backup-'))).toHaveLength(1);
    expect((await stat(join(dir, 'member', 'db'))).isDirectory()).toBe(true);
  }, 240_000);

  it('a 3-member cluster stopped together (with .snap files): every member serves the same data under the same ids; hashkv agrees', async () => {
    work = await mkdtemp(join(tmpdir(), 'etcd-ts-inplace3-'));
    const dirs = [0, 1, 2].map((i) => join(work, `m${i}`));
    const etcds = await membersOn('etcd', dirs);
    started.push(...etcds);
    // .snap files on every member: each import takes the membership from its v2 store.
    for (const m of etcds) m.setExtraArgs(['--snapshot-count', '15']);
    await Promise.all(etcds.map((m) => m.start()));
    await writeHistory(etcds[0]!.clientPort);
    // Every member has applied everything before they stop.
    await ctl(etcds[0]!.clientPort, ['put', 'barrier', 'b']);
    const expected = await Promise.all(etcds.map((m) => served(m.clientPort)));
    expect(expected[1]).toEqual(expected[0]);
    const members = await memberList(etcds[0]!.clientPort);
    const etcdHashes = await hashKvs(etcds.map((m) => m.clientPort));
    await Promise.all(etcds.map((m) => m.stop()));
    const originals = await Promise.all(dirs.map((d) => fileHashes(join(d, 'member'))));

    const ours = await membersOn('etcd-ts', dirs, etcds.map((m) => ({ client: m.clientPort, peer: m.peerPort })));
    started.push(...ours);
    await Promise.all(ours.map((m) => m.start()));
    for (const m of ours) expect(m.log()).toMatch(/"snapshot-index":[1-9]\d*,.*"msg":"converted the etcd member"/);
    for (const m of ours) {
      expect(await served(m.clientPort)).toEqual(expected[0]);
      expect(await memberList(m.clientPort)).toBe(members);
    }
    const hashes = await hashKvs(ours.map((m) => m.clientPort));
    expect(hashes).toEqual(etcdHashes);
    expect(new Set(hashes).size).toBe(1);
    await ctl(ours[2]!.clientPort, ['put', 'after', 'x']);
    expect(JSON.parse(await ctl(ours[0]!.clientPort, ['get', 'after', '-w', 'json'])).kvs[0].mod_revision).toBe(expected[0]!.revision + 1);
    for (let i = 0; i < 3; i++) expect(await fileHashes(await backupOf(dirs[i]!))).toEqual(originals[i]);
  }, 240_000);

  it('etcd killed (-9) before its backend committed: the WAL entries after the db\'s consistent index are applied, passwords included', async () => {
    work = await mkdtemp(join(tmpdir(), 'etcd-ts-inplace-kill-'));
    const dir = join(work, 'm');
    const [etcd] = await membersOn('etcd', [dir]);
    started.push(etcd!);
    // The backend commits once an hour: everything below is only in the WAL when etcd dies.
    etcd!.setExtraArgs(['--backend-batch-interval', '1h', '--backend-batch-limit', '1000000']);
    await etcd!.start();
    await writeHistory(etcd!.clientPort);
    await ctl(etcd!.clientPort, ['user', 'add', 'root:rootpw']);
    await ctl(etcd!.clientPort, ['user', 'grant-role', 'root', 'root']);
    await ctl(etcd!.clientPort, ['auth', 'enable']);
    for (let i = 0; i < 5; i++) await ctl(etcd!.clientPort, ['--user', 'root:rootpw', 'put', `late/${i}`, String(i)]);
    // etcd 3.4 puts this password in the WAL entry in the clear (and hashes it when applying).
    await ctl(etcd!.clientPort, ['--user', 'root:rootpw', 'user', 'add', 'bob:bobpw']);
    await ctl(etcd!.clientPort, ['--user', 'root:rootpw', 'user', 'grant-role', 'bob', 'reader']);
    const expected = await served(etcd!.clientPort, ['--user', 'root:rootpw']);
    await etcd!.kill9();

    const [ours] = await membersOn('etcd-ts', [dir], [{ client: etcd!.clientPort, peer: etcd!.peerPort }]);
    started.push(ours!);
    await ours!.start();
    const summary = JSON.parse(ours!.log().split('\n').find((l) => l.includes('"converted the etcd member"'))!) as Record<string, number>;
    // The backend file had not seen the writes: they came from the WAL.
    expect(summary['consistent-index']).toBeLessThan(summary['commit']! - 4);
    expect(summary['passwords-hashed']).toBeGreaterThanOrEqual(1);
    expect(await served(ours!.clientPort, ['--user', 'root:rootpw'])).toEqual(expected);
    // Users from the backend file and from the WAL (password hashed on import) log in.
    expect(await ctl(ours!.clientPort, ['--user', 'alice:secret', 'get', 'key/000', '--print-value-only'])).toBe('value-0\n');
    expect(await ctl(ours!.clientPort, ['--user', 'bob:bobpw', 'get', 'key/001', '--print-value-only'])).toBe('rewrite-3\n');
    const denied = await etcdctl(ours!.clientPort, ['--user', 'bob:wrong', 'get', 'key/000']);
    expect(denied.stderr).toMatch(/authentication failed, invalid user ID or password/);
  }, 240_000);
});
