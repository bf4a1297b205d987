// etcd 3.6's v3 discovery on real processes: a registry cluster (one bin/etcd-ts
// member, and the real etcd 3.4.23) gets the size key with etcdctl, three
// bin/etcd-ts members started with only --discovery-endpoints, --discovery-token
// and their own URLs register under /_etcd/registry/<token>/members/<id> and
// form one cluster whose cluster token is the discovery token. A fourth member
// finds the cluster full; a missing, zero or non-numeric size fails at once; a
// registry that is down at start is retried until it comes up. Failures exit 1
// with etcd 3.6's texts and leave the data dir empty.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { etcdctl, HAVE_ETCD, IN_CI, requireEtcdctl } from './helpers/etcd-process.js';
import { freePort, Member } from './helpers/member.js';
import { waitFor } from './helpers/cluster.js';
import { makeCa, makeCert } from './helpers/pki.js';
import { etcdctlTls } from './helpers/tls-ctl.js';
import { memberIdFor } from '../../src/server/ids.js';

const RUN = requireEtcdctl();
if (RUN && IN_CI && !HAVE_ETCD) throw new Error('etcd 3.4 must be on PATH in CI (Debian package etcd-server)');

let seq = 0;
const newToken = (): string => `tok-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

/** A member that bootstraps by v3 discovery: its own URLs, no --initial-cluster. */
async function discoveryMember(name: string, registry: Member, token: string, extra: string[] = []): Promise<Member> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  return Member.create({
    name,
    clientPort,
    peerPort,
    startTimeoutMs: 40_000,
    env: { ETCD_NAME: name, ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://127.0.0.1:${peerPort}` },
    extraArgs: ['--discovery-endpoints', registry.clientUrl, '--discovery-token', token, ...extra],
  });
}

/** Starts `m` expecting it to fail; returns its output after checking exit 1 and an untouched data dir. */
async function failsToStart(m: Member): Promise<string> {
  await expect(m.start()).rejects.toThrow(/exited \(code 1/);
  expect(readdirSync(m.dataDir)).toEqual([]);
  return m.log();
}

const started: Member[] = [];
afterAll(async () => {
  await Promise.all(started.map((m) => m.cleanup()));
}, 60_000);

async function registryMember(impl: 'etcd-ts' | 'etcd', clientPort?: number): Promise<Member> {
  const m = await Member.create({ impl, name: 'registry', ...(clientPort ? { clientPort } : {}) });
  started.push(m);
  return m;
}

async function bootstrapThree(registry: Member): Promise<void> {
  const token = newToken();
  expect((await etcdctl(registry.clientPort, ['put', `/_etcd/registry/${token}/_config/size`, '3'])).stdout).toBe('OK\n');
  const members = await Promise.all(['d1', 'd2', 'd3'].map((n) => discoveryMember(n, registry, token)));
  started.push(...members);
  // The first one registers and waits (a watch on the registry) until the others come.
  const first = members[0]!.start();
  const prefix = `/_etcd/registry/${token}/members/`;
  await waitFor('the first registration', 20_000, async () =>
    (await etcdctl(registry.clientPort, ['get', prefix, '--prefix', '--keys-only'])).stdout.includes(prefix) ? true : undefined,
  );
  await Promise.all([first, ...members.slice(1).map((m) => m.start())]);
  expect(members[0]!.log()).toContain('waiting for peers from discovery service');
  expect(members[0]!.log()).toContain('found all needed peers from discovery service');

  // One cluster: every member lists the three, with the ids etcd derives from the discovery token.
  const want = members.map((m) => `${memberIdFor([m.peerUrl], token).toString(16)}, started, ${m.name}, ${m.peerUrl}, ${m.clientUrl}, false`).sort();
  for (const m of members) {
    const list = await etcdctl(m.clientPort, ['member', 'list']);
    expect(list.stdout.trim().split('\n').sort()).toEqual(want);
  }
  expect((await etcdctl(members[0]!.clientPort, ['put', 'k', 'v'])).stdout).toBe('OK\n');
  expect((await etcdctl(members[2]!.clientPort, ['get', 'k', '--print-value-only'])).stdout).toBe('v\n');

  // The registry holds each registration as etcd 3.6 writes it.
  const regs = await etcdctl(registry.clientPort, ['get', `/_etcd/registry/${token}/members/`, '--prefix']);
  const lines = regs.stdout.trim().split('\n');
  const pairs = new Map<string, string>();
  for (let i = 0; i < lines.length; i += 2) pairs.set(lines[i]!, lines[i + 1]!);
  expect(pairs).toEqual(new Map(members.map((m) => [`/_etcd/registry/${token}/members/${memberIdFor([m.peerUrl], token).toString(16)}`, `${m.name}=${m.peerUrl}`])));

  // A fourth member with the same token finds the cluster full.
  const late = await discoveryMember('d4', registry, token);
  started.push(late);
  const out = await failsToStart(late);
  expect(out).toContain('etcd-ts: failed to join discovery cluster (discovery: cluster is full)\n');
  expect(out).toContain('failed to bootstrap; discovery token was already used');

  // A restarted member has its WAL: discovery is not asked again (the registry may be gone).
  await members[1]!.stop();
  await members[1]!.start();
  expect(members[1]!.log()).toContain('discovery token is ignored since cluster already initialized');
}

describe.skipIf(!RUN)('v3 discovery against an etcd-ts registry', () => {
  let registry: Member;

  it('three members bootstrap from the registry; a fourth finds it full', async () => {
    registry = await registryMember('etcd-ts');
    await registry.start();
    await bootstrapThree(registry);
  }, 120_000);

  it.each([
    ['no size key', undefined, 'discovery: size key not found'],
    ['size 0', '0', 'discovery: size key is bad'],
    ['a size that is not a number', 'three', 'discovery: size key is bad'],
  ])('%s: fails at once with etcd 3.6\'s error', async (_what, size, cause) => {
    const token = newToken();
    if (size !== undefined) await etcdctl(registry.clientPort, ['put', `/_etcd/registry/${token}/_config/size`, size]);
    const m = await discoveryMember('bad', registry, token);
    started.push(m);
    const out = await failsToStart(m);
    expect(out).toContain(`etcd-ts: failed to join discovery cluster (${cause})\n`);
  }, 60_000);

  it('an unreadable --discovery-cacert fails the join at once', async () => {
    const m = await discoveryMember('nocert', registry, newToken(), ['--discovery-cacert', '/nonexistent/ca.pem']);
    started.push(m);
    const out = await failsToStart(m);
    expect(out).toContain("etcd-ts: failed to join discovery cluster (ENOENT: no such file or directory, open '/nonexistent/ca.pem')\n");
  }, 30_000);

  it('--discovery-token without --discovery-endpoints is refused', async () => {
    const m = await Member.create({ name: 'x', env: { ETCD_NAME: 'x' }, extraArgs: ['--discovery-token', 'abc'] });
    started.push(m);
    await expect(m.start()).rejects.toThrow(/both --discovery-token and --discovery-endpoints must be set/);
  }, 30_000);
});

describe.skipIf(!RUN)('v3 discovery when the registry is down at start', () => {
  it('retries with backoff and bootstraps once the registry is up', async () => {
    const registry = await registryMember('etcd-ts', await freePort());
    const token = newToken();
    // The size key is written before the registry goes down: a member whose retry
    // reached the registry before the key existed would (rightly) fail to start.
    await registry.start();
    await etcdctl(registry.clientPort, ['put', `/_etcd/registry/${token}/_config/size`, '1']);
    await registry.stop();
    const m = await discoveryMember('solo', registry, token);
    started.push(m);
    const starting = m.start();
    await waitFor('a retry', 10_000, async () => (m.log().includes('retry connecting to discovery service') ? true : undefined));
    await registry.start();
    await starting;
    expect((await etcdctl(m.clientPort, ['member', 'list'])).stdout).toBe(
      `${memberIdFor([m.peerUrl], token).toString(16)}, started, solo, ${m.peerUrl}, ${m.clientUrl}, false\n`,
    );
  }, 60_000);
});

describe.skipIf(!RUN)('v3 discovery with several registry endpoints', () => {
  it('moves past an endpoint nobody listens on', async () => {
    const registry = await registryMember('etcd-ts');
    await registry.start();
    const token = newToken();
    await etcdctl(registry.clientPort, ['put', `/_etcd/registry/${token}/_config/size`, '1']);
    const dead = `http://127.0.0.1:${await freePort()}`;
    const m = await Member.create({
      name: 'multi',
      startTimeoutMs: 40_000,
      env: { ETCD_NAME: 'multi' },
      extraArgs: [],
    });
    m.setExtraArgs(['--initial-advertise-peer-urls', m.peerUrl, '--discovery-endpoints', `${dead},${registry.clientUrl}`, '--discovery-token', token]);
    started.push(m);
    await m.start();
    expect(m.log()).toContain('retry connecting to discovery service');
    expect((await etcdctl(m.clientPort, ['member', 'list'])).stdout).toContain(', started, multi, ');
  }, 60_000);
});

describe.skipIf(!RUN || !HAVE_ETCD)('v3 discovery against a real etcd 3.4.23 registry', () => {
  it('three members bootstrap from it; a fourth finds it full', async () => {
    const registry = await registryMember('etcd');
    await registry.start();
    await bootstrapThree(registry);
  }, 120_000);
});

describe.skipIf(!RUN)('v3 discovery over TLS with client certificates and auth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-v3disc-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('members authenticate as a registry user over mutual TLS and bootstrap; a wrong password fails', async () => {
    const ca = makeCa(dir, 'ca');
    const server = makeCert(dir, ca, 'registry', 'registry');
    // Its CN is no user: access comes from --discovery-user's token.
    const client = makeCert(dir, ca, 'discovery-client', 'client', { usages: ['client'] });
    const registry = await Member.create({
      name: 'registry',
      clientScheme: 'https',
      extraArgs: ['--cert-file', server.certFile, '--key-file', server.keyFile, '--trusted-ca-file', ca.certFile, '--client-cert-auth'],
    });
    started.push(registry);
    await registry.start();
    const admin = { cacert: ca.certFile, cert: client.certFile, key: client.keyFile };
    const token = newToken();
    for (const args of [
      ['user', 'add', 'root:rootpw'],
      ['user', 'grant-role', 'root', 'root'],
      ['user', 'add', 'disc:discpw'],
      ['role', 'add', 'registrar'],
      ['role', 'grant-permission', 'registrar', '--prefix=true', 'readwrite', '/_etcd/registry/'],
      ['user', 'grant-role', 'disc', 'registrar'],
      ['auth', 'enable'],
      ['--user', 'root:rootpw', 'put', `/_etcd/registry/${token}/_config/size`, '2'],
    ]) {
      const r = await etcdctlTls(registry.clientUrl, admin, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    const tlsArgs = (user: string) => [
      '--discovery-cacert', ca.certFile, '--discovery-cert', client.certFile, '--discovery-key', client.keyFile, '--discovery-user', user,
    ];
    const wrong = await discoveryMember('w', registry, token, tlsArgs('disc:nope'));
    started.push(wrong);
    const out = await failsToStart(wrong);
    expect(out).toContain('etcd-ts: failed to join discovery cluster (etcdserver: authentication failed, invalid user ID or password)\n');

    const members = await Promise.all(['t1', 't2'].map((n) => discoveryMember(n, registry, token, tlsArgs('disc:discpw'))));
    started.push(...members);
    await Promise.all(members.map((m) => m.start()));
    const list = await etcdctl(members[0]!.clientPort, ['member', 'list']);
    expect(list.stdout.trim().split('\n').map((l) => l.split(', ')[2]).sort()).toEqual(['t1', 't2']);
  }, 120_000);
});
