// --force-new-cluster (disaster recovery) and a member started from --config-file
// serving the health probes, /version and a --listen-metrics-urls listener.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, waitFor } from './helpers/cluster.js';
import { etcdctl, freePort, Member, requireEtcdctl } from './helpers/etcd-process.js';

const HAVE = requireEtcdctl();

describe.skipIf(!HAVE)('operations flags', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c().catch(() => {});
  });

  it('--force-new-cluster: the one surviving member of three restarts alone with every key', async () => {
    const cluster = await Cluster.create({ size: 3 });
    cleanups.push(() => cluster.cleanup());
    await cluster.start();
    const [a, b, c] = cluster.members as [Member, Member, Member];
    for (let i = 0; i < 20; i++) expect((await etcdctl(a.clientPort, ['put', `k${i}`, `v${i}`])).code).toBe(0);
    await Promise.all(cluster.members.map((m) => m.stop()));
    rmSync(b.dataDir, { recursive: true, force: true });
    rmSync(c.dataDir, { recursive: true, force: true });
    const initialCluster = cluster.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const survivor = await Member.create({
      name: a.name, dataDir: a.dataDir, clientPort: a.clientPort, peerPort: a.peerPort, initialCluster,
      extraArgs: ['--force-new-cluster'], startTimeoutMs: 20_000,
    });
    cleanups.push(() => survivor.cleanup());
    await survivor.start();
    const list = await etcdctl(survivor.clientPort, ['member', 'list']);
    expect(list.stdout.trim().split('\n')).toHaveLength(1);
    expect(list.stdout).toContain(`, ${a.name}, ${a.peerUrl}`);
    const got = await etcdctl(survivor.clientPort, ['get', '--prefix', 'k', '--keys-only']);
    expect(got.stdout.split('\n').filter((l) => l !== '')).toHaveLength(20);
    expect((await etcdctl(survivor.clientPort, ['put', 'after', 'x'])).code).toBe(0);
    expect((await etcdctl(survivor.clientPort, ['endpoint', 'health'])).code).toBe(0);
  }, 60_000);

  it('--config-file: a member from YAML; /health, /livez, /readyz, /version and a metrics listener', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-cfgfile-'));
    const [client, peer, metrics] = [await freePort(), await freePort(), await freePort()];
    const file = join(dir, 'etcd.conf.yml');
    writeFileSync(
      file,
      [
        "name: 'fromfile'",
        `data-dir: ${dir}/data`,
        `listen-peer-urls: http://127.0.0.1:${peer}`,
        `listen-client-urls: http://127.0.0.1:${client}`,
        `initial-advertise-peer-urls: http://127.0.0.1:${peer}`,
        `advertise-client-urls: http://127.0.0.1:${client}`,
        `initial-cluster: fromfile=http://127.0.0.1:${peer}`,
        `listen-metrics-urls: http://127.0.0.1:${metrics}`,
        'max-wals: 5',
        'log-outputs: [stderr]',
        'client-transport-security:',
        '  client-cert-auth: false',
        '',
      ].join('\n'),
    );
    // The command line's own flags are ignored once a config file is given (as etcd).
    const m = await Member.create({ name: 'ignored', dataDir: join(dir, 'unused'), extraArgs: ['--config-file', file] });
    cleanups.push(async () => {
      await m.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });
    // Member.start waits for "ready to serve client requests" on stderr.
    await m.start();
    const base = `http://127.0.0.1:${client}`;
    const health = await waitFor('healthy', 10_000, async () => {
      const r = await fetch(`${base}/health`);
      return r.status === 200 ? r.text() : undefined;
    });
    expect(health).toBe('{"health":"true"}');
    expect(await (await fetch(`${base}/health?serializable=true&exclude=NOSPACE`)).text()).toBe('{"health":"true"}');
    expect(await (await fetch(`${base}/livez`)).text()).toBe('ok\n');
    expect(await (await fetch(`${base}/readyz?verbose`)).text()).toBe(
      '[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\nok\n',
    );
    expect(await (await fetch(`${base}/readyz/linearizable_read`)).text()).toBe('ok\n');
    const v = await fetch(`${base}/version`);
    expect([v.headers.get('content-type'), await v.text()]).toEqual(['application/json', '{"etcdserver":"3.4.0","etcdcluster":"3.4.0"}']);
    expect((await fetch(`http://127.0.0.1:${metrics}/metrics`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${metrics}/health`)).text()).toBe('{"health":"true"}');
    expect((await etcdctl(client, ['put', 'x', 'y'])).code).toBe(0);
  }, 40_000);
});
