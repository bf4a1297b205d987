// The repository's Procfile (etcd's own, bin/etcd → bin/etcd-ts) starts a cluster:
// each line's command runs as its own process with exactly its flags, only the
// fixed addresses mapped onto free loopback ports (the same mapping in every line),
// in its own working directory (the default data dir `<name>.etcd` lands there).
// The lines carry --enable-pprof, so the pprof endpoints are checked here too.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressMap, DeployedProcess, parseProcfile } from './helpers/deploy.js';
import { etcdctl, requireEtcdctl } from './helpers/etcd-process.js';
import { REPO } from './helpers/member.js';
import { readHead } from './helpers/http.js';

const RUN = requireEtcdctl();
const entries = parseProcfile(readFileSync(join(REPO, 'Procfile'), 'utf8'));
const addrs = new AddressMap();
const procs: DeployedProcess[] = [];
const clientPorts: number[] = [];

function flag(argv: string[], name: string): string {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) throw new Error(`--${name} missing in ${argv.join(' ')}`);
  return argv[i + 1]!;
}

/** Without the test runner's own ETCD_* variables (they would shadow or conflict with the flags). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
}

describe.runIf(RUN)('Procfile', () => {
  beforeAll(async () => {
    for (const e of entries) for (const a of e.argv) for (const hp of AddressMap.found(a)) await addrs.add(hp);
    for (const e of entries) {
      const p = await DeployedProcess.create(e.name);
      procs.push(p);
      p.start(e.argv.map((a) => addrs.rewrite(a)), cleanEnv());
      clientPorts.push(Number(addrs.rewrite(flag(e.argv, 'listen-client-urls')).split(':').pop()));
    }
    try {
      await Promise.all(procs.map((p) => p.ready(40_000)));
    } catch (err) {
      for (const p of procs) console.error(`--- ${p.name} ---\n${p.log.slice(-3000)}`);
      throw err;
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.cleanup()));
  });

  it("is etcd's Procfile with bin/etcd-ts: three members infra1..3 on etcd's local ports", () => {
    expect(entries.map((e) => e.name)).toEqual(['etcd1', 'etcd2', 'etcd3']);
    for (const [i, e] of entries.entries()) {
      expect(e.argv[0]).toBe('bin/etcd-ts');
      expect(flag(e.argv, 'name')).toBe(`infra${i + 1}`);
      expect(flag(e.argv, 'listen-client-urls')).toBe(`http://127.0.0.1:${i === 0 ? '' : i + 1}2379`);
      expect(flag(e.argv, 'initial-cluster')).toBe('infra1=http://127.0.0.1:12380,infra2=http://127.0.0.1:22380,infra3=http://127.0.0.1:32380');
      expect(e.argv.slice(-3)).toEqual(['--enable-pprof', '--logger=zap', '--log-outputs=stderr']);
    }
  });

  it('forms one cluster: member list shows the three, a put on one is read on another', async () => {
    const list = await etcdctl(clientPorts[0]!, ['member', 'list']);
    expect(list.code, list.stderr).toBe(0);
    const rows = list.stdout.trim().split('\n');
    expect(rows).toHaveLength(3);
    for (let i = 1; i <= 3; i++) {
      const row = rows.find((r) => r.includes(`, infra${i}, `));
      expect(row, list.stdout).toBeDefined();
      expect(row).toContain('started');
      expect(row).toContain(`http://${addrs.get(`127.0.0.1:${i}2380`)}`);
    }
    const put = await etcdctl(clientPorts[0]!, ['put', 'procfile-key', 'v1']);
    expect(put.code, put.stderr).toBe(0);
    const get = await etcdctl(clientPorts[2]!, ['get', 'procfile-key', '--print-value-only']);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout.trim()).toBe('v1');
  });

  it('--enable-pprof: a 1 s CPU profile with nodes and a heap snapshot from a member', async () => {
    const base = `http://127.0.0.1:${clientPorts[1]}/debug/pprof`;
    const index = await fetch(`${base}/`, { signal: AbortSignal.timeout(5_000) });
    expect(index.status).toBe(200);
    const prof = await fetch(`${base}/profile?seconds=1`, { signal: AbortSignal.timeout(10_000) });
    expect(prof.status).toBe(200);
    const profile = (await prof.json()) as { nodes: unknown[] };
    expect(profile.nodes.length).toBeGreaterThan(0);
    const heap = await fetch(`${base}/heap`, { signal: AbortSignal.timeout(20_000) });
    expect(heap.status).toBe(200);
    const head = await readHead(heap, 64);
    expect(head.replace(/\s/g, '')).toMatch(/^\{"snapshot":\{"meta":\{/);
  });
});
