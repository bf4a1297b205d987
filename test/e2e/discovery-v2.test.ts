// --discovery with real processes: three etcd-ts members bootstrap from a v2
// discovery URL on a real etcd 3.4.23 and on an etcd-ts member (both started
// with --enable-v2 and seeded with the articles' `curl -X PUT .../_config/size
// -d value=3`); a fourth member becomes a proxy that etcdctl uses like a member,
// or, with --discovery-fallback exit, exits as etcd does. Bad input and a
// discovery service that is down at start are run against both implementations
// and etcd-ts's warnings compared with what etcd 3.4.23 printed for the same
// steps.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/cluster.js';
import { etcdctl, etcdIs34, IN_CI, requireEtcdctl } from './helpers/etcd-process.js';
import { discoveryMember, discoveryUrl, problems, runToExit, seedSize, spawnUntil, startBackend } from './helpers/discovery.js';
import { freePort, Member } from './helpers/member.js';
import { memberIdFor } from '../../src/server/ids.js';

const WITH_ETCD = etcdIs34();
if (!WITH_ETCD && IN_CI) throw new Error('etcd 3.4 must be on PATH in CI');
const HAVE_CTL = requireEtcdctl();
const BACKENDS: ('etcd' | 'etcd-ts')[] = [...(WITH_ETCD ? (['etcd'] as const) : []), 'etcd-ts'];

describe.skipIf(!HAVE_CTL).each(BACKENDS)('three etcd-ts members and a proxy from a discovery URL on %s', (impl) => {
  let backend: Member;
  const members: Member[] = [];
  let url = '';

  beforeAll(async () => {
    backend = await startBackend(impl);
    url = discoveryUrl(backend, `tok-${impl}`);
    await seedSize(backend, `tok-${impl}`, '3');
    for (const name of ['d1', 'd2', 'd3']) members.push(await discoveryMember('etcd-ts', name, url));
    // Each waits in discovery for the others: they start together.
    await Promise.all(members.map((m) => m.start()));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(members.map((m) => m.cleanup()));
    await backend?.cleanup();
  });

  it('form one cluster: etcdctl member list shows the three, a put on one is read on another', async () => {
    const list = await etcdctl(members[0]!.clientPort, ['member', 'list']);
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split('\n').map((l) => l.split(', '));
    expect(rows.map((r) => r[2]).sort()).toEqual(['d1', 'd2', 'd3']);
    expect(rows.every((r) => r[1] === 'started')).toBe(true);
    expect((await etcdctl(members[1]!.clientPort, ['put', 'disc-key', 'v1'])).stdout).toBe('OK\n');
    expect((await etcdctl(members[2]!.clientPort, ['get', 'disc-key', '--print-value-only'])).stdout).toBe('v1\n');
    // The registrations etcd's discovery keeps: one per member, "name=peerURL".
    const listing = (await (await fetch(url)).json()) as { node: { nodes: { key: string; value: string }[] } };
    expect(listing.node.nodes.map((n) => n.value).sort()).toEqual(members.map((m) => `${m.name}=${m.peerUrl}`).sort());
    // Registered under the member ids the cluster runs with (derived from the URL as the token).
    expect(listing.node.nodes.map((n) => n.key.split('/').pop()).sort()).toEqual(rows.map((r) => r[0]).sort());
    for (const m of members) expect(m.log()).toContain('found all needed peers from discovery server');
  });

  it('a fourth member finds the cluster full and becomes a proxy that etcdctl (gRPC) and the gateway use like a member', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'etcd-ts-e2e-proxy-'));
    const [client, peer] = [await freePort(), await freePort()];
    const args = [
      '--name', 'd4', '--data-dir', dataDir,
      '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--discovery', url, '--proxy-refresh-interval', '1000',
    ];
    let proxy = await spawnUntil(args, 'proxy started listening on client requests');
    try {
      expect(proxy.log()).toContain('discovery cluster is full, falling back to proxy');
      expect((await etcdctl(client, ['put', 'via-proxy', 'p1'])).stdout).toBe('OK\n');
      expect((await etcdctl(members[0]!.clientPort, ['get', 'via-proxy', '--print-value-only'])).stdout).toBe('p1\n');
      const list = await etcdctl(client, ['member', 'list']);
      expect(list.stdout.trim().split('\n')).toHaveLength(3);
      const gw = await fetch(`http://127.0.0.1:${client}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('via-proxy').toString('base64') }) });
      expect(((await gw.json()) as { kvs: { value: string }[] }).kvs[0]!.value).toBe(Buffer.from('p1').toString('base64'));
      expect(JSON.parse(await readFile(join(dataDir, 'proxy', 'cluster'), 'utf8'))).toEqual({ PeerURLs: members.map((m) => m.peerUrl).sort() });

      // A member goes away: the proxy passes over it.
      await members[0]!.stop();
      for (let i = 0; i < 6; i++) expect((await etcdctl(client, ['get', 'via-proxy', '--print-value-only'])).stdout).toBe('p1\n');
      // It comes back with the same flags, --discovery included: its WAL wins, discovery is not asked.
      await members[0]!.start();
      expect(members[0]!.log()).toContain('discovery token is ignored since cluster already initialized; valid logs are found');
      expect(members[0]!.log()).not.toContain('found self from discovery server');

      // Restarted, the proxy needs no discovery: its cluster file names the members.
      expect(await proxy.stop()).toBe(0);
      await backend.stop();
      proxy = await spawnUntil(args, 'proxy started listening on client requests');
      expect(proxy.log()).toContain('proxy using peer URLS from cluster file');
      expect((await etcdctl(client, ['get', 'via-proxy', '--print-value-only'])).stdout).toBe('p1\n');
    } finally {
      await proxy.stop();
      await rm(dataDir, { recursive: true, force: true });
      if (!backend.running) await backend.start();
      if (!members[0]!.running) await members[0]!.start();
    }
  }, 120_000);

  it('with --discovery-fallback exit, a fourth member exits 1 with what etcd 3.4.23 prints', async () => {
    const ours = await runToExit('etcd-ts', 'd5', url, ['--discovery-fallback', 'exit']);
    expect(ours.code).toBe(1);
    expect(ours.leftover).toEqual([]);
    const want: [string, string | undefined][] = [
      ['failed to bootstrap; discovery token was already used', 'failed to join discovery cluster (discovery: cluster is full)'],
      ['do not reuse discovery token; generate a new one to bootstrap a cluster', undefined],
    ];
    expect(problems(ours.lines)).toEqual(want);
    if (WITH_ETCD) {
      const etcd = await runToExit('etcd', 'd5', url, ['--discovery-fallback', 'exit']);
      expect(etcd.code).toBe(1);
      expect(problems(etcd.lines)).toEqual(want);
    }
  }, 60_000);
});

describe.skipIf(!HAVE_CTL || !WITH_ETCD)('three etcd 3.4.23 members bootstrap from a discovery URL on etcd-ts', () => {
  it('etcd\'s own discovery client registers, waits and bootstraps against our v2 keys API; an etcd-ts proxy fronts them', async () => {
    const backend = await startBackend('etcd-ts');
    const members: Member[] = [];
    try {
      const url = discoveryUrl(backend, 'for-etcd');
      await seedSize(backend, 'for-etcd', '3');
      for (const name of ['e1', 'e2', 'e3']) members.push(await discoveryMember('etcd', name, url));
      await Promise.all(members.map((m) => m.start()));
      const list = await etcdctl(members[0]!.clientPort, ['member', 'list']);
      expect(list.stdout.trim().split('\n').map((l) => l.split(', ')[2]).sort()).toEqual(['e1', 'e2', 'e3']);
      expect((await etcdctl(members[1]!.clientPort, ['put', 'k', 'v'])).stdout).toBe('OK\n');
      expect((await etcdctl(members[2]!.clientPort, ['get', 'k', '--print-value-only'])).stdout).toBe('v\n');
      // A fourth, etcd-ts, finds etcd's cluster full: its proxy reads etcd's GET /members and forwards to etcd.
      const proxyDir = await mkdtemp(join(tmpdir(), 'etcd-ts-e2e-proxy-'));
      const [client, peer] = [await freePort(), await freePort()];
      const proxy = await spawnUntil([
        '--name', 'p4', '--data-dir', proxyDir,
        '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--discovery', url,
      ], 'proxy started listening on client requests');
      try {
        expect(proxy.log()).toContain('proxy: endpoints found');
        expect((await etcdctl(client, ['get', 'k', '--print-value-only'])).stdout).toBe('v\n');
      } finally {
        await proxy.stop();
        await rm(proxyDir, { recursive: true, force: true });
      }
    } finally {
      await Promise.all(members.map((m) => m.cleanup()));
      await backend.cleanup();
    }
  }, 90_000);
});

describe('bad discovery input against real processes: etcd-ts says what etcd 3.4.23 says, exits 1 and leaves nothing', () => {
  let backend: Member;
  beforeAll(async () => {
    backend = await startBackend(WITH_ETCD ? 'etcd' : 'etcd-ts');
    await seedSize(backend, 'abc-size', 'abc');
    await seedSize(backend, 'neg-size', '-1');
    await seedSize(backend, 'zero-size', '0');
  }, 60_000);
  afterAll(async () => {
    await backend?.cleanup();
  });

  const RECORDED: Record<string, [string, string | undefined][]> = {
    'no-such-token': [
      ['failed to start etcd', 'failed to join discovery cluster (100: Key not found (/discovery/no-such-token) [#])'],
      ['failed to bootstrap; discovery token was already used', 'failed to join discovery cluster (100: Key not found (/discovery/no-such-token) [#])'],
      ['do not reuse discovery token; generate a new one to bootstrap a cluster', undefined],
    ],
    'abc-size': [
      ['failed to start etcd', 'failed to join discovery cluster (discovery: size key is bad)'],
      ['failed to bootstrap; discovery token was already used', 'failed to join discovery cluster (discovery: size key is bad)'],
      ['do not reuse discovery token; generate a new one to bootstrap a cluster', undefined],
    ],
  };
  RECORDED['neg-size'] = RECORDED['abc-size']!;

  for (const token of ['no-such-token', 'abc-size', 'neg-size']) {
    it(token, async () => {
      const url = discoveryUrl(backend, token);
      const ours = await runToExit('etcd-ts', 'x', url);
      expect([ours.code, ours.leftover]).toEqual([1, []]);
      expect(problems(ours.lines)).toEqual(RECORDED[token]);
      if (WITH_ETCD) {
        const etcd = await runToExit('etcd', 'x', url);
        expect(etcd.code).toBe(1);
        expect(problems(etcd.lines)).toEqual(problems(ours.lines));
      }
    }, 60_000);
  }

  it('a member registered before (its data dir wiped since): found duplicate id, as etcd says it', async () => {
    await seedSize(backend, 'dup-id', '3');
    const url = discoveryUrl(backend, 'dup-id');
    const peerPort = await freePort();
    // What the member registered on its first start: its id (from its peer URL and the token) → name=peerURL.
    const id = memberIdFor([`http://127.0.0.1:${peerPort}`], url).toString(16);
    const put = await fetch(`${url}/${id}?prevExist=false`, { method: 'PUT', body: new URLSearchParams({ value: `x=http://127.0.0.1:${peerPort}` }) });
    expect(put.status).toBe(201);
    const ours = await runToExit('etcd-ts', 'x', url, [], { peerPort });
    expect([ours.code, ours.leftover]).toEqual([1, []]);
    expect(problems(ours.lines)).toEqual([
      ['failed to start etcd', 'failed to join discovery cluster (discovery: found duplicate id)'],
      ['member has been registered with discovery service', 'discovery: found duplicate id'],
      ['but could not find valid cluster configuration', undefined],
      ['check data dir if previous bootstrap succeeded', undefined],
      ['or use a new discovery token if previous bootstrap failed', undefined],
    ]);
    if (WITH_ETCD) {
      const etcd = await runToExit('etcd', 'x', url, [], { peerPort });
      expect(etcd.code).toBe(1);
      expect(problems(etcd.lines)).toEqual(problems(ours.lines));
    }
  }, 60_000);

  it('size 0 (etcd 3.4.23 registers, then panics on a nil pointer): a bad size key, nothing registered', async () => {
    const url = discoveryUrl(backend, 'zero-size');
    const ours = await runToExit('etcd-ts', 'x', url);
    expect([ours.code, ours.leftover]).toEqual([1, []]);
    expect(problems(ours.lines)[0]).toEqual(['failed to start etcd', 'failed to join discovery cluster (discovery: size key is bad)']);
    const listing = (await (await fetch(url)).json()) as { node: { nodes?: unknown[] } };
    expect(listing.node.nodes ?? []).toEqual([]); // (_config is hidden)
  }, 60_000);
});

describe('a discovery service that is down at start', () => {
  it('is retried with the backoff until it comes up; then the member bootstraps', async () => {
    const backend = await Member.create({ name: 'disc', extraArgs: ['--enable-v2'] });
    const member = await discoveryMember('etcd-ts', 'late', discoveryUrl(backend, 'late'));
    try {
      const started = member.start();
      await waitFor('a retry', 10_000, async () => (member.log().includes('retry connecting to discovery service') ? true : undefined));
      await backend.start();
      await seedSize(backend, 'late', '1');
      await started;
      expect(member.log()).toContain('"reason":"cluster status check","backoff":"2s"');
      expect(member.log()).toContain('failed to get from discovery server');
      expect((await etcdctl(member.clientPort, ['put', 'k', 'v'])).stdout).toBe('OK\n');
    } finally {
      await member.cleanup();
      await backend.cleanup();
    }
  }, 60_000);
});
