// /v2/... on the client port's HTTP handler: 404 without --enable-v2 (what etcd
// 3.4.23 answered, fixtures/v2-keys.json), and with it the headers, statuses, a
// form body, a long poll woken by a write and given up when the client leaves.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MvccStore } from '../../src/mvcc/index.js';
import { httpHandler } from '../../src/server/api/http.js';
import { TmpStores } from './mvcc-helpers.js';
import { v2HttpHandler } from './v2-helpers.js';

const FIXTURE = JSON.parse(readFileSync(join(import.meta.dirname, '../e2e/fixtures/v2-keys.json'), 'utf8')) as {
  disabled: { status: number; body: string };
};

const tmp = new TmpStores();
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await tmp.cleanup();
});

const metrics = { scrapeMetrics: async () => ({ contentType: 'text/plain', body: '' }) };
const health = { leader: 1n, range: async () => ({}) };

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function v2Server(store: MvccStore, leader = 1n): Promise<string> {
  return serve(v2HttpHandler(store, leader));
}

describe('/v2 on the client port', () => {
  it('answers 404 without --enable-v2, as etcd 3.4.23 does', async () => {
    const base = await serve(httpHandler({ health, metrics }));
    const r = await fetch(`${base}/v2/keys/foo`);
    expect([r.status, await r.text()]).toEqual([FIXTURE.disabled.status, FIXTURE.disabled.body]);
  });

  it("serves keys with etcd's headers and statuses", async () => {
    const base = await v2Server(await tmp.open());
    let r = await fetch(`${base}/v2/keys/message`, { method: 'PUT', body: new URLSearchParams({ value: 'Hello' }) });
    expect(r.status).toBe(201);
    expect([r.headers.get('x-etcd-cluster-id'), r.headers.get('x-raft-index'), r.headers.get('x-raft-term')]).toEqual(['abc', '42', '2']);
    const idx = r.headers.get('x-etcd-index');
    expect(await r.json()).toEqual({ action: 'set', node: { key: '/message', value: 'Hello', modifiedIndex: Number(idx), createdIndex: Number(idx) } });
    // The body's value wins over the query's, as Go's r.Form orders them.
    r = await fetch(`${base}/v2/keys/message?value=query`, { method: 'PUT', body: new URLSearchParams({ value: 'body' }) });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { node: { value: string } }).node.value).toBe('body');
    r = await fetch(`${base}/v2/keys/message`, { method: 'HEAD' });
    expect([r.status, await r.text()]).toEqual([200, '']);
    r = await fetch(`${base}/v2/keys/nope`);
    expect(r.status).toBe(404);
    expect(r.headers.get('x-etcd-index')).toBe(idx === null ? null : String(Number(idx) + 1));
    r = await fetch(`${base}/v2/keys/x`, { method: 'PATCH' });
    expect([r.status, r.headers.get('allow')]).toEqual([405, 'HEAD,GET,PUT,POST,DELETE']);
    r = await fetch(`${base}/v2/unknown`);
    expect([r.status, await r.text()]).toEqual([404, '404 page not found\n']);
  });

  it('wakes a long poll with the change, and stops watching when the client leaves', async () => {
    const base = await v2Server(await tmp.open());
    const watchers = async (): Promise<number> => ((await (await fetch(`${base}/v2/stats/store`)).json()) as { watchers: number }).watchers;
    const poll = fetch(`${base}/v2/keys/foo?wait=true`);
    const res = await poll; // headers come first, as etcd flushes them
    expect([res.status, await watchers()]).toEqual([200, 1]);
    await fetch(`${base}/v2/keys/foo`, { method: 'PUT', body: new URLSearchParams({ value: 'bar' }) });
    expect(((await res.json()) as { action: string; node: { value: string } })).toMatchObject({ action: 'set', node: { value: 'bar' } });
    expect(await watchers()).toBe(0);

    const ac = new AbortController();
    const gone = await fetch(`${base}/v2/keys/foo?wait=true`, { signal: ac.signal });
    expect(gone.status).toBe(200);
    expect(await watchers()).toBe(1);
    ac.abort();
    for (let i = 0; i < 100 && (await watchers()) !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await watchers()).toBe(0);
  });

  it('serves members, and leader stats only on the leader', async () => {
    const base = await v2Server(await tmp.open(), 2n);
    const m = await fetch(`${base}/v2/members`);
    expect(await m.json()).toEqual({ members: [
      { id: '1', name: 'a', peerURLs: ['http://127.0.0.1:1'], clientURLs: ['http://127.0.0.1:2'] },
      { id: '2', name: 'b', peerURLs: [], clientURLs: [] },
    ] });
    const l = await fetch(`${base}/v2/stats/leader`);
    expect([l.status, await l.json()]).toEqual([403, { message: 'not current leader' }]);
    const self = (await (await fetch(`${base}/v2/stats/self`)).json()) as Record<string, unknown>;
    expect(self).toMatchObject({ name: 'a', id: '1', state: 'StateFollower', leaderInfo: { leader: '2' } });
  });
});
