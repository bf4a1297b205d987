import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/server/config.js';
import { MAX_PROFILE_SECONDS, profileSeconds, withPprof } from '../../src/server/api/pprof.js';
import { readHead } from '../e2e/helpers/http.js';

let server: http.Server | undefined;

afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

const fallback: http.RequestListener = (_req, res) => {
  res.writeHead(404);
  res.end('404 page not found\n');
};

async function serve(enabled: boolean): Promise<string> {
  server = http.createServer(withPprof(enabled, fallback));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('--enable-pprof', () => {
  it('is a supported flag (and ETCD_ENABLE_PPROF), off by default', () => {
    const base = ['--name', 'a', '--initial-cluster', 'a=http://localhost:2380'];
    const run = (argv: string[], env = {}) => {
      const r = parseArgs([...base, ...argv], env);
      if (r.kind !== 'run') throw new Error(r.kind);
      return r.config.enablePprof;
    };
    expect(run([])).toBe(false);
    expect(run(['--enable-pprof'])).toBe(true);
    expect(run([], { ETCD_ENABLE_PPROF: 'true' })).toBe(true);
  });

  it('parses ?seconds= within bounds', () => {
    expect(profileSeconds(null)).toBe(30);
    expect(profileSeconds('2')).toBe(2);
    expect(profileSeconds('0')).toBeUndefined();
    expect(profileSeconds('-1')).toBeUndefined();
    expect(profileSeconds('1.5')).toBeUndefined();
    expect(profileSeconds(String(MAX_PROFILE_SECONDS + 1))).toBeUndefined();
  });

  it('without the flag, /debug/pprof/ is 404 (the next handler answers)', async () => {
    const base = await serve(false);
    expect((await fetch(`${base}/debug/pprof/`)).status).toBe(404);
    expect((await fetch(`${base}/debug/pprof/heap`)).status).toBe(404);
  });

  it('with the flag: index, redirect, unknown profile, bad seconds; other paths pass through', async () => {
    const base = await serve(true);
    const index = await fetch(`${base}/debug/pprof/`);
    expect(index.status).toBe(200);
    const html = await index.text();
    expect(html).toContain('href="profile?seconds=30"');
    expect(html).toContain('href="heap"');
    const bare = await fetch(`${base}/debug/pprof`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/debug/pprof/');
    expect((await fetch(`${base}/debug/pprof/goroutine`)).status).toBe(404);
    expect((await fetch(`${base}/debug/pprof/profile?seconds=abc`)).status).toBe(400);
    expect((await fetch(`${base}/health`)).status).toBe(404);
  });

  it('a one-second CPU profile is .cpuprofile JSON with nodes; a second one meanwhile is refused', async () => {
    const base = await serve(true);
    const first = fetch(`${base}/debug/pprof/profile?seconds=1`);
    await new Promise((r) => setTimeout(r, 200));
    const second = await fetch(`${base}/debug/pprof/profile?seconds=1`);
    expect(second.status).toBe(500);
    expect(await second.text()).toContain('already in use');
    const res = await first;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const profile = (await res.json()) as { nodes: { callFrame: unknown }[]; startTime: number; endTime: number };
    expect(profile.nodes.length).toBeGreaterThan(0);
    expect(profile.nodes[0]!.callFrame).toBeDefined();
    expect(profile.endTime - profile.startTime).toBeGreaterThanOrEqual(900_000); // µs
  });

  it('the heap endpoint streams a V8 heap snapshot', async () => {
    const base = await serve(true);
    const res = await fetch(`${base}/debug/pprof/heap`);
    expect(res.status).toBe(200);
    const head = await readHead(res, 64);
    expect(head.replace(/\s/g, '')).toMatch(/^\{"snapshot":\{"meta":\{/);
  });
});
