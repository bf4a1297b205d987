// `bin/etcd-ts discovery`, the discovery service, with real processes: standalone
// (its own embedded member) and on a real etcd 3.4.23 started with --enable-v2.
// The seed's flow: `curl -X PUT <svc>/new?size=3` gives a token URL; three real
// etcd 3.4.23 members started with only --discovery and their own URLs form one
// cluster (etcdctl member list shows three); a fourth on the same URL gets etcd's
// "discovery: cluster is full" and exits (--discovery-fallback exit). The same with
// etcd-ts members, whose fourth becomes a proxy by default. Also: an
// unknown token's 404 with the v2 error body, tokens kept across a restart, the
// collector (--minage/--gcfreq), a clean stop on SIGTERM (embedded member too), and
// a three-member etcd-ts cluster as the backing store with one member down.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdctl, etcdIs34, IN_CI, onPath, requireEtcdctl, startMember, stopMember } from './helpers/etcd-process.js';
import { DiscoveryService, discoveryMember } from './helpers/discovery-service.js';
import { freePort, type Member } from './helpers/member.js';
import { spawnUntil } from './helpers/discovery.js';
import { clusterForBlock, waitFor } from './helpers/cluster.js';

const REAL_ETCD = etcdIs34();
if (IN_CI && (!REAL_ETCD || !onPath('curl'))) throw new Error('CI needs etcd 3.4 and curl on PATH for the discovery service e2e tests');
const RUN = REAL_ETCD && onPath('curl') && requireEtcdctl();

function curl(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((res) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'utf8', timeout: 15_000 }, (err, stdout) =>
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout }),
    );
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Three real etcd members on one token start together; resolves with their names in `etcdctl member list`. */
async function bootstrapThree(tokenUrl: string, members: Member[]): Promise<string[]> {
  for (const name of ['d1', 'd2', 'd3']) members.push(await discoveryMember('etcd', name, tokenUrl, { ETCD_DISCOVERY_FALLBACK: 'exit' }));
  await Promise.all(members.map((m) => m.start()));
  const list = await etcdctl(members[0]!.clientPort, ['member', 'list']);
  expect(list.code).toBe(0);
  return list.stdout.trim().split('\n').map((l) => l.split(', ')[2]!).sort();
}

/** A fourth real etcd on a full token: etcd's message, exit code 1. */
async function fourthIsRefused(tokenUrl: string, members: Member[]): Promise<void> {
  const fourth = await discoveryMember('etcd', 'd4', tokenUrl, { ETCD_DISCOVERY_FALLBACK: 'exit' });
  members.push(fourth);
  await expect(fourth.start()).rejects.toThrow(/exited \(code 1/);
  expect(fourth.log()).toContain('discovery: cluster is full');
}

describe.skipIf(!RUN)('discovery service, standalone', () => {
  let svc: DiscoveryService;
  const members: Member[] = [];

  beforeAll(async () => {
    svc = await DiscoveryService.start();
  }, 90_000);

  afterAll(async () => {
    for (const m of members.splice(0)) await m.cleanup();
    await svc?.cleanup();
  }, 90_000);

  it('bootstraps three real etcd 3.4.23 members from a token made with curl -X PUT /new?size=3; a fourth finds the cluster full', async () => {
    const made = await curl(['-X', 'PUT', `${svc.url}/new?size=3`]);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(new RegExp(`^${svc.url}/[a-f0-9]{32}$`));
    expect(await bootstrapThree(made.stdout, members)).toEqual(['d1', 'd2', 'd3']);
    await fourthIsRefused(made.stdout, members);
  }, 180_000);

  it('the seed\'s flow with etcd-ts: three members with only --discovery form one cluster; a fourth becomes a proxy, a fifth with fallback exit exits', async () => {
    const made = await curl(['-X', 'PUT', `${svc.url}/new?size=3`]);
    expect(made.code).toBe(0);
    const tokenUrl = made.stdout;
    const ours: Member[] = [];
    for (const name of ['t1', 't2', 't3']) ours.push(await discoveryMember('etcd-ts', name, tokenUrl));
    members.push(...ours);
    await Promise.all(ours.map((m) => m.start()));
    const list = await etcdctl(ours[0]!.clientPort, ['member', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.trim().split('\n').map((l) => l.split(', ')[2]).sort()).toEqual(['t1', 't2', 't3']);
    expect((await etcdctl(ours[0]!.clientPort, ['put', 'seed', 'v1'])).stdout).toBe('OK\n');

    // The default fallback: the fourth serves the cluster's client API as a proxy.
    const dataDir = await mkdtemp(join(tmpdir(), 'etcd-ts-e2e-svc-proxy-'));
    const [client, peer] = [await freePort(), await freePort()];
    const proxy = await spawnUntil([
      '--name', 't4', '--data-dir', dataDir,
      '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--discovery', tokenUrl,
    ], 'proxy started listening on client requests');
    try {
      expect(proxy.log()).toContain('discovery cluster is full, falling back to proxy');
      expect((await etcdctl(client, ['get', 'seed', '--print-value-only'])).stdout).toBe('v1\n');
      expect((await etcdctl(client, ['put', 'via-proxy', 'p'])).stdout).toBe('OK\n');
      expect((await etcdctl(ours[1]!.clientPort, ['get', 'via-proxy', '--print-value-only'])).stdout).toBe('p\n');
    } finally {
      expect(await proxy.stop()).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }

    const fifth = await discoveryMember('etcd-ts', 't5', tokenUrl, { ETCD_DISCOVERY_FALLBACK: 'exit' });
    members.push(fifth);
    await expect(fifth.start()).rejects.toThrow(/exited \(code 1/);
    expect(fifth.log()).toContain('discovery: cluster is full');
  }, 180_000);

  it('answers an unknown token with 404 and the v2 error body, a bad size with 400', async () => {
    const unknown = '0123456789abcdef0123456789abcdef';
    const r = await fetch(`${svc.url}/${unknown}/_config/size`);
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ errorCode: 100, message: 'Key not found', cause: `/${unknown}` });
    const bad = await fetch(`${svc.url}/new?size=three`, { method: 'PUT' });
    expect([bad.status, await bad.text()]).toEqual([400, 'strconv.Atoi: parsing "three": invalid syntax\n']);
    const health = await fetch(`${svc.url}/health`);
    expect([health.status, await health.text()]).toEqual([200, 'OK']);
  });

  it('keeps tokens across a restart, and stops cleanly (embedded member too) on SIGTERM', async () => {
    const token = await svc.newToken(5);
    const children = svc.childPids();
    expect(children).toHaveLength(1);
    expect(await svc.stop()).toBe(0);
    for (const pid of children) expect(alive(pid)).toBe(false);
    await svc.restart();
    const r = await fetch(`${token}/_config/size`);
    expect(r.status).toBe(200);
    expect((await r.json()).node.value).toBe('5');
  }, 90_000);
});

describe.skipIf(!RUN)('discovery service on a real etcd 3.4.23 (--enable-v2)', () => {
  let etcd: Member;
  let svc: DiscoveryService;
  const members: Member[] = [];

  beforeAll(async () => {
    etcd = await startMember({ impl: 'etcd', name: 'backing', extraArgs: ['--enable-v2'] });
    svc = await DiscoveryService.start({ etcd: [etcd.clientUrl] });
  }, 90_000);

  afterAll(async () => {
    for (const m of members.splice(0)) await m.cleanup();
    await svc?.cleanup();
    await stopMember(etcd);
  }, 90_000);

  it('keeps its tokens in the backing etcd and bootstraps three real etcd members from one', async () => {
    const tokenUrl = await svc.newToken(3);
    const token = tokenUrl.slice(tokenUrl.lastIndexOf('/') + 1);
    const stored = await fetch(`${etcd.clientUrl}/v2/keys/discovery.etcd.io/registry/${token}/_config/size`);
    expect((await stored.json()).node.value).toBe('3');
    expect(await bootstrapThree(tokenUrl, members)).toEqual(['d1', 'd2', 'd3']);
    await fourthIsRefused(tokenUrl, members);
    const registered = await (await fetch(`${tokenUrl}?recursive=true`)).json();
    expect(registered.node.nodes).toHaveLength(3);
    const unknown = '0123456789abcdef0123456789abcdef';
    const missing = await fetch(`${svc.url}/${unknown}/_config/size`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ errorCode: 100, message: 'Key not found', cause: `/${unknown}` });
  }, 180_000);

  it('garbage collects tokens past --minage, every --gcfreq', async () => {
    const quick = await DiscoveryService.start({ etcd: [etcd.clientUrl], extraArgs: ['--minage', '1s', '--gcfreq', '300ms'] });
    try {
      const tokenUrl = await quick.newToken(3);
      expect((await fetch(`${tokenUrl}/_config/size`)).status).toBe(200);
      await waitFor('token collected', 15_000, async () => ((await fetch(`${tokenUrl}/_config/size`)).status === 404 ? true : undefined), 200);
      const index = await fetch(`${etcd.clientUrl}/v2/keys/discovery.etcd.io/gc`);
      expect((await index.json()).node.nodes ?? []).toEqual([]);
    } finally {
      await quick.cleanup();
    }
  }, 60_000);
});

describe.skipIf(!RUN)('discovery service on a three-member etcd-ts cluster (--enable-v2)', () => {
  const cluster = clusterForBlock({ extraArgs: ['--enable-v2'] });
  let svc: DiscoveryService;
  const members: Member[] = [];

  afterAll(async () => {
    for (const m of members.splice(0)) await m.cleanup();
    await svc?.cleanup();
  }, 90_000);

  it('keeps serving from the other members when the one it used stops', async () => {
    svc = await DiscoveryService.start({ etcd: cluster().members.map((m) => m.clientUrl) });
    const tokenUrl = await svc.newToken(3);
    await cluster().members[0]!.stop();
    expect(await bootstrapThree(tokenUrl, members)).toEqual(['d1', 'd2', 'd3']);
    const health = await fetch(`${svc.url}/health`);
    expect([health.status, await health.text()]).toEqual([200, 'OK']);
  }, 180_000);
});
