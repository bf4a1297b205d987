// The v2 discovery client against an in-process fake discovery server: the
// protocol (size, list, register, wait), etcd's errors and messages for each bad
// input, the retry backoff, and the plans resolveInitialCluster hands main.ts.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseArgs, type Config } from '../../src/server/config.js';
import { resolveInitialCluster } from '../../src/server/discovery/index.js';
import { memberIdFor } from '../../src/server/ids.js';
import { capturingLogger, FakeDiscovery } from './discovery-fake.js';

let fake: FakeDiscovery;
let dir: string;

beforeEach(async () => {
  fake = new FakeDiscovery();
  await fake.start();
  dir = await mkdtemp(join(tmpdir(), 'etcd-ts-disc-'));
});
afterEach(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

function config(name: string, peerPort: number, discovery: string, extra: string[] = []): Config {
  const r = parseArgs([
    '--name', name,
    '--data-dir', join(dir, name),
    '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--discovery', discovery,
    ...extra,
  ]);
  if (r.kind !== 'run') throw new Error('no config');
  return r.config;
}

const noSleep = { sleep: async () => {} };

function messages(lines: Record<string, unknown>[]): string[] {
  return lines.filter((l) => l.level !== 30 || String(l.msg).startsWith('found') || String(l.msg).startsWith('retry') || String(l.msg).startsWith('proxy')).map((l) => String(l.msg));
}

describe('v2 discovery: a cluster forms', () => {
  it('three members register, wait for each other and get the same cluster; ids derive from the discovery URL', async () => {
    const url = fake.url('t1');
    fake.set('/discovery/t1/_config/size', '3');
    const cfgs = [config('a', 7001, url), config('b', 7002, url), config('c', 7003, url)];
    const plans = await Promise.all(cfgs.map((c) => resolveInitialCluster(c, capturingLogger().logger, noSleep)));
    const expected = new Map([['a', ['http://127.0.0.1:7001']], ['b', ['http://127.0.0.1:7002']], ['c', ['http://127.0.0.1:7003']]]);
    for (const p of plans) {
      expect(p.kind).toBe('member');
      if (p.kind !== 'member') continue;
      expect(new Map([...p.cfg.initialCluster].sort())).toEqual(expected);
      expect(p.cfg.initialClusterToken).toBe(url);
    }
    const ids = ['7001', '7002', '7003'].map((port) => memberIdFor([`http://127.0.0.1:${port}`], url).toString(16));
    expect(fake.registered('t1').map((n) => n.key.split('/').pop()).sort()).toEqual([...ids].sort());
    expect(fake.registered('t1').map((n) => n.value).sort()).toEqual(['a=http://127.0.0.1:7001', 'b=http://127.0.0.1:7002', 'c=http://127.0.0.1:7003']);
    // The requests etcd's client makes, in its query order.
    const reqs = fake.requests.join('\n');
    expect(reqs).toContain('GET /v2/keys/discovery/t1/_config/size?quorum=false&recursive=false&sorted=false');
    expect(reqs).toMatch(/PUT \/v2\/keys\/discovery\/t1\/[0-9a-f]+\?prevExist=false/);
    // Each member waits until its own registration is visible.
    expect(reqs).toMatch(/GET \/v2\/keys\/discovery\/t1\/[0-9a-f]+\?recursive=false&wait=true&waitIndex=\d+/);
    // Nothing is written to the data dirs by discovery.
    expect(await readdir(dir)).toEqual([]);
  });

  it('a member registers once and sees later registrations through the wait, logging what etcd logs', async () => {
    const url = fake.url('t2');
    fake.set('/discovery/t2/_config/size', '2');
    const { logger, lines } = capturingLogger();
    const pending = resolveInitialCluster(config('a', 7001, url), logger, noSleep);
    const waiting = (): boolean => fake.requests.some((r) => /\/t2\?recursive=true&wait=true/.test(r));
    for (let i = 0; i < 500 && !waiting(); i++) await new Promise((r) => setTimeout(r, 10));
    fake.set('/discovery/t2/1234', 'b=http://127.0.0.1:7002');
    const plan = await pending;
    expect(plan.kind).toBe('member');
    expect(messages(lines)).toEqual([
      'found self from discovery server',
      'found peers from discovery server; waiting for more',
      'found peer from discovery server',
      'found all needed peers from discovery server',
    ]);
    expect(lines.find((l) => l.msg === 'found peers from discovery server; waiting for more')).toMatchObject({ 'found-peers': 1, 'needed-peers': 1, 'discovery-url': `http://127.0.0.1:${fake.port}` });
    expect(fake.requests.join('\n')).toMatch(/GET \/v2\/keys\/discovery\/t2\?recursive=true&wait=true&waitIndex=\d+/);
  });

  it('the first `size` registrations by createdIndex are the cluster; later ones find it full', async () => {
    const url = fake.url('t3');
    fake.set('/discovery/t3/_config/size', '2');
    fake.set('/discovery/t3/2', 'x=http://127.0.0.1:7102');
    fake.set('/discovery/t3/1', 'y=http://127.0.0.1:7101');
    const { logger, lines } = capturingLogger();
    const plan = await resolveInitialCluster(config('a', 7001, url, ['--discovery-fallback', 'exit']), logger, noSleep);
    expect(plan).toEqual({ kind: 'exit', code: 1 });
    expect(fake.registered('t3')).toHaveLength(2); // the fast path refuses before registering
    expect(lines.map((l) => [l.msg, l.error])).toEqual([
      ['bootstrapping the cluster through a discovery URL', undefined],
      ['failed to bootstrap; discovery token was already used', 'failed to join discovery cluster (discovery: cluster is full)'],
      ['do not reuse discovery token; generate a new one to bootstrap a cluster', undefined],
    ]);
  });

  it('a full cluster with fallback proxy (the default) gives a proxy plan to the registered peers', async () => {
    const url = fake.url('t4');
    fake.set('/discovery/t4/_config/size', '1');
    fake.set('/discovery/t4/1', 'y=http://127.0.0.1:7101,y=http://127.0.0.1:7100');
    const { logger, lines } = capturingLogger();
    const plan = await resolveInitialCluster(config('a', 7001, url), logger, noSleep);
    expect(plan).toEqual({ kind: 'proxy', peerUrls: ['http://127.0.0.1:7100', 'http://127.0.0.1:7101'] });
    expect(lines.find((l) => l.msg === 'discovery cluster is full, falling back to proxy')).toMatchObject({ 'fallback-proxy': 'proxy', error: 'failed to join discovery cluster (discovery: cluster is full)' });
    expect(fake.registered('t4')).toHaveLength(1);
  });
});

describe('v2 discovery: bad input gets etcd 3.4.23 errors (recorded), exit 1, nothing in the data dir', () => {
  async function failing(token: string, extra: string[] = []): Promise<Record<string, unknown>[]> {
    const { logger, lines } = capturingLogger();
    const cfg = config('a', 7001, fake.url(token), extra);
    const plan = await resolveInitialCluster(cfg, logger, noSleep);
    expect(plan).toEqual({ kind: 'exit', code: 1 });
    await expect(readdir(cfg.dataDir)).rejects.toThrow(/ENOENT/);
    return lines.filter((l) => l.level !== 30);
  }

  it('a token without a size key: the v2 error itself (etcd 3.4 never answers "size key not found")', async () => {
    const lines = await failing('nosuch');
    expect(lines.map((l) => [l.msg, l.error])).toEqual([
      ['failed to start etcd', expect.stringMatching(/^failed to join discovery cluster \(100: Key not found \(\/discovery\/nosuch\/_config\/size\) \[\d+\]\)$/)],
      ['failed to bootstrap; discovery token was already used', expect.stringMatching(/^failed to join discovery cluster \(100: Key not found/)],
      ['do not reuse discovery token; generate a new one to bootstrap a cluster', undefined],
    ]);
    expect(lines[1]).toMatchObject({ 'discovery-token': fake.url('nosuch') });
  });

  for (const size of ['abc', '-1', '', '3.0', ' 3', '18446744073709551616', '0']) {
    it(`size ${JSON.stringify(size)}: discovery: size key is bad, and nothing is registered`, async () => {
      fake.set('/discovery/bad/_config/size', size);
      const lines = await failing('bad');
      expect(lines[0]).toMatchObject({ msg: 'failed to start etcd', error: 'failed to join discovery cluster (discovery: size key is bad)' });
      expect(fake.registered('bad')).toEqual([]);
    });
  }

  it('this member registered before (a wiped data dir): found duplicate id, with etcd\'s four lines', async () => {
    fake.set('/discovery/dup/_config/size', '3');
    fake.set(`/discovery/dup/${memberIdFor(['http://127.0.0.1:7001'], fake.url('dup')).toString(16)}`, 'a=http://127.0.0.1:7001');
    const lines = await failing('dup');
    expect(lines.map((l) => l.msg)).toEqual([
      'failed to start etcd',
      'member has been registered with discovery service',
      'but could not find valid cluster configuration',
      'check data dir if previous bootstrap succeeded',
      'or use a new discovery token if previous bootstrap failed',
    ]);
    expect(lines[1]).toMatchObject({ name: 'a', error: 'discovery: found duplicate id' });
    expect(lines[2]).toMatchObject({ 'data-dir': join(dir, 'a') });
  });

  it('two registrations with one name: found duplicate name', async () => {
    fake.set('/discovery/dn/_config/size', '2');
    fake.set('/discovery/dn/1', 'a=http://127.0.0.1:7101');
    const lines = await failing('dn');
    expect(lines.map((l) => l.msg)).toEqual([
      'failed to start etcd',
      'member with duplicated name has already been registered',
      'cURL the discovery token URL for details',
      'do not reuse discovery token; generate a new one to bootstrap a cluster',
    ]);
  });

  it('a registration that is no URL: discovery: invalid URL; one URL claimed twice: duplicate url', async () => {
    fake.set('/discovery/iu/_config/size', '2');
    fake.set('/discovery/iu/1', 'x=ftp://127.0.0.1:7101');
    expect((await failing('iu'))[0]).toMatchObject({ error: 'failed to join discovery cluster (discovery: invalid URL)' });
    fake.set('/discovery/du/_config/size', '2');
    fake.set('/discovery/du/1', 'x=http://127.0.0.1:7001');
    const lines = await failing('du');
    expect(lines.map((l) => [l.msg, l.error])).toEqual([
      ['failed to start etcd', 'discovery cluster a=http://127.0.0.1:7001,x=http://127.0.0.1:7001 has duplicate url'],
      ['discovery failed', 'discovery cluster a=http://127.0.0.1:7001,x=http://127.0.0.1:7001 has duplicate url'],
    ]);
  });

  it('an endpoint that is no etcd (HTML 404): discovery: bad discovery endpoint', async () => {
    fake.mode = 'html';
    expect((await failing('x'))[0]).toMatchObject({ error: 'failed to join discovery cluster (discovery: bad discovery endpoint)' });
  });

  it('--initial-cluster-state existing with --discovery: etcd\'s refusal', async () => {
    const lines = await failing('x', ['--initial-cluster-state', 'existing']);
    expect(lines.map((l) => [l.msg, l.error])).toEqual([
      ['failed to start etcd', 'discovery URL should not be set when joining existing initial cluster'],
      ['discovery failed', 'discovery URL should not be set when joining existing initial cluster'],
    ]);
  });
});

describe('v2 discovery: retries', () => {
  it('a service that is down at start is retried with etcd\'s backoff (2 s, 4 s, ...) until it comes up', async () => {
    const port = fake.port;
    await fake.stop();
    const sleeps: number[] = [];
    const { logger, lines } = capturingLogger();
    const cfg = config('a', 7001, `http://127.0.0.1:${port}/v2/keys/discovery/up`);
    const plan = await resolveInitialCluster(cfg, logger, {
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 3) {
          await fake.start(port);
          fake.set('/discovery/up/_config/size', '1');
        }
      },
    });
    expect(plan.kind).toBe('member');
    expect(sleeps).toEqual([2000, 4000, 8000]);
    const warn = lines.find((l) => l.msg === 'failed to get from discovery server')!;
    expect(warn).toMatchObject({
      'discovery-url': `http://127.0.0.1:${port}`,
      path: '/v2/keys/discovery/up/_config/size',
      error: `client: etcd cluster is unavailable or misconfigured; error #0: dial tcp 127.0.0.1:${port}: connect: connection refused\n`,
    });
    expect(lines.filter((l) => l.msg === 'retry connecting to discovery service').map((l) => [l.reason, l.backoff])).toEqual([
      ['cluster status check', '2s'], ['cluster status check', '4s'], ['cluster status check', '8s'],
    ]);
  });

  it('503 answers ("no leader") are retried too; the backoff stops growing at 256 s', async () => {
    fake.mode = 'unavailable';
    fake.set('/discovery/u/_config/size', '1');
    const sleeps: number[] = [];
    const plan = await resolveInitialCluster(config('a', 7001, fake.url('u')), capturingLogger().logger, {
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 10) fake.mode = 'ok';
      },
    });
    expect(plan.kind).toBe('member');
    expect(sleeps).toEqual([2, 4, 8, 16, 32, 64, 128, 256, 256, 256].map((s) => s * 1000));
  });

  it('a URL without an http(s) scheme is retried as unreachable, as etcd 3.4 does', async () => {
    const { logger, lines } = capturingLogger();
    let n = 0;
    const pending = resolveInitialCluster(config('a', 7001, 'foo'), logger, {
      sleep: async () => {
        if (++n === 2) throw new Error('stop here');
      },
    });
    expect(await pending).toEqual({ kind: 'exit', code: 1 });
    expect(lines.find((l) => l.msg === 'failed to get from discovery server')).toMatchObject({ path: '/foo/_config/size', 'err-detail': 'error #0: unsupported protocol scheme ""\n' });
  });
});

describe('v2 discovery: --discovery-proxy', () => {
  it('every request goes through the HTTP proxy (absolute URL as the request target)', async () => {
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      const target = new URL(req.url ?? '');
      const up = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      fake.set('/discovery/px/_config/size', '1');
      const port = (proxy.address() as net.AddressInfo).port;
      const { logger, lines } = capturingLogger();
      const plan = await resolveInitialCluster(config('a', 7001, fake.url('px'), ['--discovery-proxy', `127.0.0.1:${port}`]), logger, noSleep);
      expect(plan.kind).toBe('member');
      expect(seen.length).toBeGreaterThanOrEqual(4);
      expect(seen.every((u) => u.startsWith(`http://127.0.0.1:${fake.port}/v2/keys/discovery/px`))).toBe(true);
      expect(lines.find((l) => l.msg === 'running proxy with discovery')).toBeDefined();
    } finally {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe('resolveInitialCluster: the data dir decides first', () => {
  it('a member with a WAL ignores --discovery (etcd\'s warning) and asks nothing', async () => {
    const cfg = config('a', 7001, fake.url('w'));
    await mkdir(join(cfg.dataDir, 'member', 'wal'), { recursive: true });
    await writeFile(join(cfg.dataDir, 'member', 'wal', '0000000000000000-0000000000000000.wal'), '');
    const { logger, lines } = capturingLogger();
    expect(await resolveInitialCluster(cfg, logger, noSleep)).toEqual({ kind: 'member', cfg });
    expect(lines.map((l) => l.msg)).toEqual(['discovery token is ignored since cluster already initialized; valid logs are found']);
    expect(fake.requests).toEqual([]);
  });

  it('a proxy data dir restarts as the proxy from its cluster file; member and proxy both: etcd\'s fatal', async () => {
    const cfg = config('a', 7001, fake.url('w'));
    await mkdir(join(cfg.dataDir, 'proxy'), { recursive: true });
    await writeFile(join(cfg.dataDir, 'proxy', 'cluster'), JSON.stringify({ PeerURLs: ['http://127.0.0.1:7101'] }));
    const { logger, lines } = capturingLogger();
    expect(await resolveInitialCluster(cfg, logger, noSleep)).toEqual({ kind: 'proxy', peerUrls: ['http://127.0.0.1:7101'] });
    expect(lines.map((l) => l.msg)).toContain('discovery token ignored since the proxy has already been initialized; valid cluster file found');
    expect(fake.requests).toEqual([]);
    await mkdir(join(cfg.dataDir, 'member'));
    const second = capturingLogger();
    expect(await resolveInitialCluster(cfg, second.logger, noSleep)).toEqual({ kind: 'exit', code: 1 });
    expect(second.lines.map((l) => l.msg)).toEqual(['invalid datadir; both member and proxy directories exist']);
  });

  it('without discovery flags the configuration is used as it is', async () => {
    const r = parseArgs(['--data-dir', join(dir, 'plain')]);
    if (r.kind !== 'run') throw new Error('no config');
    expect(await resolveInitialCluster(r.config, capturingLogger().logger)).toEqual({ kind: 'member', cfg: r.config });
  });
});
