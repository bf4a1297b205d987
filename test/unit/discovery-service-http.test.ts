// The discovery service's HTTP handler over a real v2 keys API (the client
// port's /v2 over an in-process MvccStore, v2-helpers.ts): /new and its errors,
// token paths with etcd's v2 answers (404 errorCode 100 for an unknown token, 412
// for a duplicate member id, hidden _config, a long poll woken by a
// registration), /health, the collector with an injected clock, and a backing
// store that is down (503 on token paths, failover to the next endpoint).
import * as http from 'node:http';
import { createServer as netServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BackingV2 } from '../../src/discovery-service/backing-v2.js';
import { GarbageCollector } from '../../src/discovery-service/garbage-collector.js';
import { discoveryHandler } from '../../src/discovery-service/service.js';
import { TokenStore } from '../../src/discovery-service/token-store.js';
import { TmpStores } from './mvcc-helpers.js';
import { v2HttpHandler } from './v2-helpers.js';

const logger = pino({ level: 'silent' });
const tmp = new TmpStores();
const servers: http.Server[] = [];
const backings: BackingV2[] = [];

afterEach(async () => {
  for (const b of backings.splice(0)) b.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await tmp.cleanup();
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A loopback URL nothing listens on. */
async function deadUrl(): Promise<string> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

interface Setup {
  svc: string;
  etcd: string;
  store: TokenStore;
  clock: { now: number };
}

async function setup(opts: { endpointsBefore?: string[] } = {}): Promise<Setup> {
  const etcd = await serve(v2HttpHandler(await tmp.open()));
  const backing = new BackingV2([...(opts.endpointsBefore ?? []), etcd], 2_000);
  backings.push(backing);
  const store = new TokenStore(backing);
  const clock = { now: Date.parse('2026-12-01T00:00:00Z') };
  const svc = await serve(discoveryHandler({ store, publicHost: 'https://disc.example.com', logger, now: () => clock.now }));
  return { svc, etcd, store, clock };
}

async function newToken(svc: string, size?: string): Promise<string> {
  const r = await fetch(`${svc}/new${size === undefined ? '' : `?size=${size}`}`, { method: 'PUT' });
  expect(r.status).toBe(200);
  const url = await r.text();
  expect(url).toMatch(/^https:\/\/disc\.example\.com\/[a-f0-9]{32}$/);
  return url.slice(url.lastIndexOf('/') + 1);
}

describe('discovery service /new', () => {
  it('stores the size (3 by default, from the query or a form body)', async () => {
    const { svc } = await setup();
    for (const [make, want] of [
      [() => newToken(svc), '3'],
      [() => newToken(svc, '5'), '5'],
      [async () => {
        const r = await fetch(`${svc}/new`, { method: 'PUT', body: new URLSearchParams({ size: '7' }) });
        const u = await r.text();
        return u.slice(u.lastIndexOf('/') + 1);
      }, '7'],
      [() => newToken(svc, '0'), '0'],
    ] as const) {
      const token = await make();
      const r = await fetch(`${svc}/${token}/_config/size`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(Number(r.headers.get('x-etcd-index'))).toBeGreaterThan(0);
      expect((await r.json()).node).toMatchObject({ key: `/${token}/_config/size`, value: want });
    }
  });

  it("answers 400 with strconv's text for a size that is not a number", async () => {
    const { svc } = await setup();
    const r = await fetch(`${svc}/new?size=abc`);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await r.text()).toBe('strconv.Atoi: parsing "abc": invalid syntax\n');
  });
});

describe('discovery service token paths', () => {
  it('answers 404 with the v2 error body for an unknown token', async () => {
    const { svc } = await setup();
    const unknown = 'ffffffffffffffffffffffffffffffff';
    const check = async (): Promise<void> => {
      for (const path of [`/${unknown}/_config/size`, `/${unknown}`]) {
        const r = await fetch(`${svc}${path}`);
        expect(r.status).toBe(404);
        expect(await r.json()).toMatchObject({ errorCode: 100, message: 'Key not found', cause: `/${unknown}` });
      }
    };
    await check(); // before any token exists
    await newToken(svc);
    await check();
  });

  it("registers members once each (prevExist=false: 412 the second time) and lists them without _config", async () => {
    const { svc } = await setup();
    const token = await newToken(svc);
    const put = (id: string, value: string) =>
      fetch(`${svc}/${token}/${id}?prevExist=false`, { method: 'PUT', body: new URLSearchParams({ value }) });
    const first = await put('2d95befd00e20f4f', 'e1=http://127.0.0.1:2380');
    expect(first.status).toBe(201);
    expect((await first.json()).node).toMatchObject({ key: `/${token}/2d95befd00e20f4f`, value: 'e1=http://127.0.0.1:2380' });
    const again = await put('2d95befd00e20f4f', 'e1=http://127.0.0.1:2380');
    expect(again.status).toBe(412);
    expect(await again.json()).toMatchObject({ errorCode: 105, message: 'Key already exists', cause: `/${token}/2d95befd00e20f4f` });
    const list = await fetch(`${svc}/${token}?recursive=true`);
    const body = await list.json();
    expect(body.node.nodes.map((n: { key: string }) => n.key)).toEqual([`/${token}/2d95befd00e20f4f`]);
  });

  it('wakes a long poll (wait=true&waitIndex=&recursive=true) with the next registration', async () => {
    const { svc } = await setup();
    const token = await newToken(svc);
    const index = Number((await fetch(`${svc}/${token}`)).headers.get('x-etcd-index'));
    const waiting = fetch(`${svc}/${token}?wait=true&waitIndex=${index + 1}&recursive=true`, { signal: AbortSignal.timeout(10_000) });
    // wait=1 is a long poll too (strconv.ParseBool); it outlives the 2 s bound of other requests.
    const waitingOne = fetch(`${svc}/${token}?wait=1&waitIndex=${index + 1}&recursive=true`, { signal: AbortSignal.timeout(10_000) });
    await new Promise((r) => setTimeout(r, 2_500));
    await fetch(`${svc}/${token}/abc?prevExist=false`, { method: 'PUT', body: new URLSearchParams({ value: 'm=http://x' }) });
    for (const woken of await Promise.all([waiting, waitingOne])) {
      expect(woken.status).toBe(200);
      expect(await woken.json()).toMatchObject({ action: 'create', node: { key: `/${token}/abc`, value: 'm=http://x' } });
    }
  });

  it('refuses to register on a token /new never made (nothing would collect it)', async () => {
    const { svc, store } = await setup();
    await newToken(svc);
    const stray = 'abcdefabcdefabcdefabcdefabcdef00';
    const r = await fetch(`${svc}/${stray}/m1?prevExist=false`, { method: 'PUT', body: new URLSearchParams({ value: 'm1=http://x' }) });
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ errorCode: 100, message: 'Key not found', cause: `/${stray}` });
    expect((await fetch(`${svc}/${stray}`)).status).toBe(404);
    expect(await store.gcEntries()).toHaveLength(1);
  });

  it('redirects an unclean path to its clean form, query kept', async () => {
    const { svc } = await setup();
    // Raw paths: fetch() would resolve the dot segments itself.
    const rawGet = (path: string): Promise<[number | undefined, string | undefined]> =>
      new Promise((resolve, reject) => {
        http.get(`${svc}/`, { path }, (res) => {
          res.resume();
          resolve([res.statusCode, res.headers.location]);
        }).on('error', reject);
      });
    expect(await rawGet('/x/%2e%2e/new?size=1')).toEqual([301, '/new?size=1']);
    expect(await rawGet('//a%20b')).toEqual([301, '/a%20b']);
    expect(await rawGet(`/${'a'.repeat(32)}/../health`)).toEqual([301, '/health']);
  });

  it("answers 404 and 405 as discoveryserver's router does", async () => {
    const { svc } = await setup();
    const token = await newToken(svc);
    const notFound = await fetch(`${svc}/nothing`);
    expect([notFound.status, await notFound.text()]).toEqual([404, '404 page not found\n']);
    const wrongMethod = await fetch(`${svc}/${token}/_config/size`, { method: 'PUT', body: new URLSearchParams({ value: '9' }) });
    expect(wrongMethod.status).toBe(405);
    const size = await fetch(`${svc}/${token}/_config/size`);
    expect((await size.json()).node.value).toBe('3');
  });
});

describe('discovery service /metrics', () => {
  it("counts /new, /health and token requests by code and method, as discoveryserver's counters do", async () => {
    const { svc } = await setup();
    const token = await newToken(svc);
    await fetch(`${svc}/new?size=x`);
    await fetch(`${svc}/health`);
    await fetch(`${svc}/${token}/_config/size`);
    await fetch(`${svc}/${'f'.repeat(32)}`);
    const r = await fetch(`${svc}/metrics`);
    expect(r.status).toBe(200);
    const text = await r.text();
    for (const line of [
      'endpoint_new_requests_total{code="200",method="PUT"} 1',
      'endpoint_new_requests_total{code="400",method="GET"} 1',
      'endpoint_health_requests_total{code="200",method="GET"} 1',
      'endpoint_token_requests_total{code="200",method="GET"} 1',
      'endpoint_token_requests_total{code="404",method="GET"} 1',
    ]) expect(text).toContain(line);
  });
});

describe('discovery service /health and gc', () => {
  it('/health makes and deletes a token, leaving nothing behind', async () => {
    const { svc, store } = await setup();
    const r = await fetch(`${svc}/health`);
    expect([r.status, await r.text()]).toEqual([200, 'OK']);
    expect(await store.gcEntries()).toEqual([]);
  });

  it('collects tokens past the minimum age and keeps younger ones', async () => {
    const { svc, store, clock } = await setup();
    const day = 24 * 3600_000;
    const old = await newToken(svc);
    clock.now += 3 * day;
    const young = await newToken(svc);
    clock.now += 5 * day; // old: 8 days, young: 5 days
    const gc = new GarbageCollector(store, { minAgeMs: 7 * day, intervalMs: 60_000, now: () => clock.now }, logger);
    expect(await gc.collect()).toBe(1);
    expect((await fetch(`${svc}/${old}/_config/size`)).status).toBe(404);
    expect((await fetch(`${svc}/${young}/_config/size`)).status).toBe(200);
    expect((await store.gcEntries()).map((e) => e.token)).toEqual([young]);
    clock.now += 2 * day;
    expect(await gc.collect()).toBe(1);
    expect((await fetch(`${svc}/${young}`)).status).toBe(404);
    await gc.stop();
  });
});

describe('discovery service with its backing store down', () => {
  it('answers 503 on token paths (etcd retries those) and 400 on /new and /health', async () => {
    const backing = new BackingV2([await deadUrl()], 1_000);
    backings.push(backing);
    const svc = await serve(discoveryHandler({ store: new TokenStore(backing), publicHost: 'http://d', logger }));
    const token = 'ffffffffffffffffffffffffffffffff';
    const r = await fetch(`${svc}/${token}/_config/size`);
    expect([r.status, await r.text()]).toEqual([503, 'backing etcd unavailable\n']);
    const n = await fetch(`${svc}/new`);
    expect([n.status, await n.text()]).toEqual([400, 'unable to generate token\n']);
    const h = await fetch(`${svc}/health`);
    expect([h.status, await h.text()]).toEqual([400, 'health failed to setupToken\n']);
  });

  it('moves on to the next endpoint when one refuses connections', async () => {
    const { svc } = await setup({ endpointsBefore: [await deadUrl()] });
    const token = await newToken(svc);
    expect((await fetch(`${svc}/${token}/_config/size`)).status).toBe(200);
  });
});
