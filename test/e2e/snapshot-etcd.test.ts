// etcd-ts → etcd: `etcdctl snapshot save` from a bin/etcd-ts member gives a file
// that etcdctl 3.4.23 reads (`snapshot status`), restores (`snapshot restore`)
// and the real etcd serves with the same keys, revisions, history, leases,
// users and roles. Also: `bin/etcd-ts snapshot status` prints what etcdctl
// prints, and a snapshot taken while a writer runs is one revision's state.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonBigIds } from './helpers/cluster.js';
import { etcdctl, freePort, HAVE_ETCD, IN_CI, Member, requireEtcdctl, startMember, stopMember } from './helpers/etcd-process.js';
import { KvClient } from './helpers/kv-client.js';
import { BIN, REPO } from './helpers/member.js';

const RUN = (() => {
  if (HAVE_ETCD && requireEtcdctl()) return true;
  if (IN_CI) throw new Error('etcd and etcdctl 3.4 must be on PATH in CI');
  return false;
})();

interface Out { code: number | null; stdout: string; stderr: string }

function runTool(cmd: string, args: string[], timeoutMs = 120_000): Promise<Out> {
  return new Promise((res) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', cwd: REPO, env: { ...process.env, ETCDCTL_API: '3' }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function ok(port: number, args: string[], stdin = ''): Promise<string> {
  const r = await etcdctl(port, args, stdin, 60_000);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `get "" --prefix -w json`'s kvs (the header differs between clusters). */
async function allKvs(port: number, rev?: number): Promise<unknown> {
  const out = await ok(port, ['get', '', '--prefix', '-w', 'json', ...(rev ? [`--rev=${rev}`] : [])]);
  return (parseJsonBigIds(out.replace(/"lease":(\d+)/g, '"lease":"$1"')) as { kvs?: unknown[] }).kvs ?? [];
}

/** Restores `file` with etcdctl into a fresh dir and starts the real etcd on it. */
async function restoreIntoEtcd(parent: string, file: string): Promise<Member> {
  const peerPort = await freePort();
  const dataDir = join(parent, `restored-${peerPort}`);
  const peer = `http://127.0.0.1:${peerPort}`;
  const r = await runTool('etcdctl', ['snapshot', 'restore', file, '--name', 'r', '--data-dir', dataDir, '--initial-cluster', `r=${peer}`, '--initial-advertise-peer-urls', peer]);
  if (r.code !== 0) throw new Error(`etcdctl snapshot restore: ${r.stderr}`);
  const m = await Member.create({ impl: 'etcd', name: 'r', dataDir, peerPort });
  await m.start();
  return m;
}

describe.runIf(RUN)('etcd-ts snapshot → etcd 3.4.23', () => {
  let ours: Member | undefined;
  let restored: Member | undefined;
  let dir: string;
  const file = () => join(dir, 'ours.db');
  let compactedAt = 0;
  let historyRev = 0;

  /** The same history on any member: returns the revision of k0001's second-to-last value. */
  async function writeHistory(p: number): Promise<number> {
    for (let i = 0; i < 50; i++) await ok(p, ['txn'], `\n${Array.from({ length: 20 }, (_, j) => `put k${String(i * 20 + j).padStart(4, '0')} v${i}-${j}`).join('\n')}\n\n\n`);
    await ok(p, ['put', 'k0001', 'second']);
    const historyRev = Number(/"revision":(\d+)/.exec(await ok(p, ['put', 'k0001', 'third', '-w', 'json']))![1]);
    await ok(p, ['put', 'k0001', 'fourth']);
    await ok(p, ['put', 'big', 'z'.repeat(100_000)]);
    await ok(p, ['del', 'k0002']);
    compactedAt = 10;
    await ok(p, ['compact', String(compactedAt)]);
    const lease = /lease ([0-9a-f]+) granted/.exec(await ok(p, ['lease', 'grant', '3600']))![1]!;
    await ok(p, ['put', 'leased', 'v', `--lease=${lease}`]);
    await ok(p, ['role', 'add', 'reader']);
    await ok(p, ['role', 'grant-permission', 'reader', 'read', '/a', '/b']);
    await ok(p, ['user', 'add', 'alice:pw']);
    await ok(p, ['user', 'grant-role', 'alice', 'reader']);
    return historyRev;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-ts-snap-e2e-'));
    ours = await startMember({ name: 'src' });
    historyRev = await writeHistory(ours.clientPort);
    await ok(ours.clientPort, ['snapshot', 'save', file()]);
    restored = await restoreIntoEtcd(dir, file());
  }, 240_000);

  afterAll(async () => {
    await stopMember(ours);
    await stopMember(restored);
    await rm(dir, { recursive: true, force: true });
  });

  it('etcdctl snapshot status reads it: our revision, and bin/etcd-ts snapshot status prints the same in every format', async () => {
    const p = ours!.clientPort;
    const rev = Number(/"revision":(\d+)/.exec(await ok(p, ['get', 'k0001', '-w', 'json']))![1]);
    for (const w of ['simple', 'table', 'json', 'fields']) {
      const theirs = await runTool('etcdctl', ['snapshot', 'status', file(), '-w', w]);
      const mine = await runTool(BIN, ['snapshot', 'status', file(), '-w', w]);
      expect(theirs.code, theirs.stderr).toBe(0);
      expect(mine).toEqual({ code: 0, stdout: theirs.stdout, stderr: '' });
    }
    const st = JSON.parse((await runTool('etcdctl', ['snapshot', 'status', file(), '-w', 'json'])).stdout) as { revision: number; totalKey: number };
    expect(st.revision).toBe(rev);
  });

  it('etcd 3.4.23 given the same history saves a snapshot of the same revision and key count', async () => {
    const etcd = await startMember({ impl: 'etcd', name: 'twin' });
    try {
      await writeHistory(etcd.clientPort);
      const theirs = join(dir, 'etcd.db');
      await ok(etcd.clientPort, ['snapshot', 'save', theirs]);
      const status = async (f: string) => JSON.parse((await runTool('etcdctl', ['snapshot', 'status', f, '-w', 'json'])).stdout) as { revision: number; totalKey: number };
      const [a, b] = [await status(file()), await status(theirs)];
      expect({ revision: a.revision, totalKey: a.totalKey }).toEqual({ revision: b.revision, totalKey: b.totalKey });
    } finally {
      await stopMember(etcd);
    }
  }, 120_000);

  it('the real etcd serves the same keys with their revisions, history after the compaction, leases, users and roles', async () => {
    const a = ours!.clientPort, b = restored!.clientPort;
    expect(await allKvs(b)).toEqual(await allKvs(a));
    expect(await allKvs(b, historyRev)).toEqual(await allKvs(a, historyRev));
    const compacted = await etcdctl(b, ['get', 'k0001', `--rev=${compactedAt - 1}`]);
    expect(compacted.stderr).toContain('required revision has been compacted');
    expect(await ok(b, ['lease', 'list'])).toBe(await ok(a, ['lease', 'list']));
    const leaseId = (await ok(a, ['lease', 'list'])).split('\n')[1]!.trim();
    const ttlOf = async (port: number) => /granted with TTL\((\d+)s\)/.exec(await ok(port, ['lease', 'timetolive', leaseId, '--keys']))![0];
    expect(await ttlOf(b)).toBe(await ttlOf(a));
    expect(await ok(b, ['user', 'list'])).toBe(await ok(a, ['user', 'list']));
    expect(await ok(b, ['user', 'get', 'alice'])).toBe(await ok(a, ['user', 'get', 'alice']));
    expect(await ok(b, ['role', 'get', 'reader'])).toBe(await ok(a, ['role', 'get', 'reader']));
    // The restored etcd writes on from our revision.
    const next = JSON.parse(await ok(b, ['put', 'after', 'x', '-w', 'json'])) as { header: { revision: number } };
    const ourRev = (JSON.parse(await ok(a, ['get', 'k0001', '-w', 'json'])) as { header: { revision: number } }).header.revision;
    expect(next.header.revision).toBe(ourRev + 1);
  });
});

describe.runIf(RUN)('a snapshot while a writer runs', () => {
  let ours: Member | undefined;
  let restored: Member | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-ts-snap-live-'));
    ours = await startMember({ name: 'live' });
  }, 60_000);
  afterAll(async () => {
    await stopMember(ours);
    await stopMember(restored);
    await rm(dir, { recursive: true, force: true });
  });

  it('is the state of one revision: restored, it equals get --rev at that revision', async () => {
    const p = ours!.clientPort;
    const kv = new KvClient(ours!.endpoint);
    let stop = false;
    let writes = 0;
    // 8 concurrent writers over 500 keys: puts overwrite and extend history while the snapshot streams.
    const writers = Array.from({ length: 8 }, async (_, w) => {
      while (!stop) {
        const i = (writes++ * 7 + w) % 500;
        await kv.put(`live/${String(i).padStart(3, '0')}`, `w${w}-${writes}-${'p'.repeat(200)}`);
      }
    });
    try {
      while (writes < 2000) await new Promise((r) => setTimeout(r, 50));
      const file = join(dir, 'live.db');
      await ok(p, ['snapshot', 'save', file]);
      const during = writes;
      while (writes < during + 200) await new Promise((r) => setTimeout(r, 50));
      stop = true;
      await Promise.all(writers);
      const st = JSON.parse((await runTool(BIN, ['snapshot', 'status', file, '-w', 'json'])).stdout) as { revision: number };
      expect(st.revision).toBeGreaterThan(1000);
      restored = await restoreIntoEtcd(dir, file);
      const now = Number(/"revision":(\d+)/.exec(await ok(p, ['get', 'x', '-w', 'json']))![1]);
      expect(now).toBeGreaterThan(st.revision);
      expect(await allKvs(restored.clientPort)).toEqual(await allKvs(p, st.revision));
    } finally {
      stop = true;
      await Promise.allSettled(writers);
      kv.close();
    }
  }, 240_000);
});
