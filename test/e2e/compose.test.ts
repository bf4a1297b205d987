// compose.yaml starts a three-member cluster. No Docker engine here: each service runs
// as a process of bin/etcd-ts (the image's entry point) with no arguments and exactly
// the environment the container would get (the image's ENV lines, then the service's
// `environment`, plus PATH). What the container network provides is mapped: every
// `etcdN:port` (and the service's own 0.0.0.0:port) becomes its own free 127.0.0.1
// port, and the service's volume becomes a temp directory.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressMap, DeployedProcess, parseYaml, type Yaml } from './helpers/deploy.js';
import { etcdctl, requireEtcdctl } from './helpers/etcd-process.js';
import { REPO } from './helpers/member.js';

const RUN = requireEtcdctl();
const compose = parseYaml(readFileSync(join(REPO, 'compose.yaml'), 'utf8')) as Record<string, Yaml>;
const services = compose.services as Record<string, Record<string, Yaml>>;
const names = Object.keys(services);

/** ENV lines of the Dockerfile's last stage (KEY=value form). */
function imageEnv(): Record<string, string> {
  const stages = readFileSync(join(REPO, 'Dockerfile'), 'utf8').split(/^FROM /m);
  const env: Record<string, string> = {};
  for (const m of stages[stages.length - 1]!.matchAll(/^ENV\s+(\w+)=(\S+)\s*$/gm)) env[m[1]!] = m[2]!;
  return env;
}

function entrypoint(): string {
  const m = /^ENTRYPOINT\s+\["([^"]+)"\]/m.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
  if (!m) throw new Error('no exec-form ENTRYPOINT in Dockerfile');
  return m[1]!;
}

const addrs = new AddressMap();
const procs = new Map<string, DeployedProcess>();
const alias = (service: string) => (hp: string) => hp.replace(/^0\.0\.0\.0:/, `${service}:`);
const clientPort = (service: string): number => Number(addrs.get(`${service}:2379`).split(':').pop());

describe.runIf(RUN)('compose.yaml', () => {
  beforeAll(async () => {
    for (const s of names) {
      for (const v of Object.values(services[s]!.environment as Record<string, string>)) {
        for (const hp of AddressMap.found(v)) await addrs.add(alias(s)(hp));
      }
    }
    for (const s of names) {
      const svc = services[s]!;
      const p = await DeployedProcess.create(s);
      procs.set(s, p);
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...imageEnv() };
      for (const [k, v] of Object.entries(svc.environment as Record<string, string>)) env[k] = addrs.rewrite(v, alias(s));
      for (const vol of svc.volumes as string[]) {
        const [src, target] = vol.split(':');
        if (env.ETCD_DATA_DIR === target) env.ETCD_DATA_DIR = join(p.cwd, src!);
      }
      // The image's entry point is /app/bin/etcd-ts: here, the repository's bin/etcd-ts.
      p.start([entrypoint().replace(/^\/app\//, '')], env);
    }
    try {
      await Promise.all([...procs.values()].map((p) => p.ready(40_000)));
    } catch (err) {
      for (const p of procs.values()) console.error(`--- ${p.name} ---\n${p.log.slice(-3000)}`);
      throw err;
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...procs.values()].map((p) => p.cleanup()));
  });

  it("has the seed articles' layout: etcd1..3, one initial cluster, host ports 23791-23793", () => {
    expect(names).toEqual(['etcd1', 'etcd2', 'etcd3']);
    for (const [i, s] of names.entries()) {
      const env = services[s]!.environment as Record<string, string>;
      expect(env).toMatchObject({
        ETCD_NAME: s,
        ETCD_INITIAL_CLUSTER: 'etcd1=http://etcd1:2380,etcd2=http://etcd2:2380,etcd3=http://etcd3:2380',
        ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://${s}:2380`,
        ETCD_LISTEN_PEER_URLS: 'http://0.0.0.0:2380',
        ETCD_LISTEN_CLIENT_URLS: 'http://0.0.0.0:2379',
        ETCD_ADVERTISE_CLIENT_URLS: `http://${s}:2379`,
        ETCD_INITIAL_CLUSTER_STATE: 'new',
      });
      expect(env.ETCD_INITIAL_CLUSTER_TOKEN).toBeTruthy();
      expect(services[s]!.ports).toEqual([`2379${i + 1}:2379`]);
      expect(services[s]!.build).toBe('.');
    }
  });

  it('forms one cluster: member list shows etcd1..3 with their URLs, a put on one is read on another', async () => {
    const list = await etcdctl(clientPort('etcd1'), ['member', 'list']);
    expect(list.code, list.stderr).toBe(0);
    const rows = list.stdout.trim().split('\n');
    expect(rows).toHaveLength(3);
    for (const s of names) {
      const row = rows.find((r) => r.includes(`, ${s}, `));
      expect(row, list.stdout).toBeDefined();
      expect(row).toContain('started');
      expect(row).toContain(`http://${addrs.get(`${s}:2380`)}`);
      expect(row).toContain(`http://${addrs.get(`${s}:2379`)}`);
    }
    const put = await etcdctl(clientPort('etcd2'), ['put', 'compose-key', 'v2']);
    expect(put.code, put.stderr).toBe(0);
    const get = await etcdctl(clientPort('etcd3'), ['get', 'compose-key', '--print-value-only']);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout.trim()).toBe('v2');
  });

  it('without --enable-pprof (not in compose.yaml) /debug/pprof/ is 404, as in etcd', async () => {
    const res = await fetch(`http://127.0.0.1:${clientPort('etcd1')}/debug/pprof/`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(404);
  });

  it('each member keeps its data in its volume', () => {
    for (const [s, p] of procs) {
      const vol = (services[s]!.volumes as string[])[0]!.split(':')[0]!;
      expect(existsSync(join(p.cwd, vol, 'member', 'wal', '0000000000000000-0000000000000000.wal'))).toBe(true);
    }
  });
});
