// /health, /livez, /readyz answers (etcdhttp/health.go) over a fake HealthSource,
// and the client port's access control (--cors, --host-whitelist).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthProbes } from '../../src/server/api/health.js';
import { hostnameOf } from '../../src/server/api/access.js';
import { httpHandler, withAccessControl } from '../../src/server/api/http.js';
import type { HealthSource } from '../../src/server/api/ports.js';
import { ErrInvalidAuthToken, ErrPermissionDenied, ErrUserEmpty } from '../../src/auth/errors.js';

function source(over: Partial<{ leader: bigint; alarms: string[]; learner: boolean; fail: (s: boolean) => string | undefined }> = {}): HealthSource {
  return {
    leader: over.leader ?? 1n,
    range: async (req) => {
      const msg = over.fail?.(req.serializable);
      if (msg) throw new Error(msg);
      return {};
    },
    activeAlarms: () => over.alarms ?? [],
    isLearner: () => over.learner ?? false,
  };
}
const q = (s = ''): URLSearchParams => new URLSearchParams(s);

describe('/health', () => {
  it('healthy; no leader; serializable skips the leader check; alarms and exclude', async () => {
    expect(await new HealthProbes(source()).answer('/health', q())).toEqual({ status: 200, body: '{"health":"true"}', error: false });
    const noLeader = new HealthProbes(source({ leader: 0n }));
    expect(await noLeader.answer('/health', q())).toMatchObject({ status: 503, body: '{"health":"false"}\n', reason: 'RAFT NO LEADER' });
    expect((await noLeader.answer('/health', q('serializable=true')))!.status).toBe(200);
    const alarmed = new HealthProbes(source({ alarms: ['NOSPACE'] }));
    expect(await alarmed.answer('/health', q())).toMatchObject({ status: 503, body: '{"health":"false"}\n', reason: 'ALARM NOSPACE' });
    expect((await alarmed.answer('/health', q('exclude=NOSPACE')))!.status).toBe(200);
    const both = new HealthProbes(source({ alarms: ['NOSPACE', 'CORRUPT'] }));
    expect((await both.answer('/health', q('exclude=NOSPACE')))!.reason).toBe('ALARM CORRUPT');
    expect((await both.answer('/health', q('exclude=NOSPACE&exclude=CORRUPT')))!.status).toBe(200);
    const failing = new HealthProbes(source({ fail: (s) => (s ? undefined : 'etcdserver: request timed out') }));
    expect((await failing.answer('/health', q()))!.reason).toBe('RANGE ERROR:etcdserver: request timed out');
    expect((await failing.answer('/health', q('serializable=true')))!.status).toBe(200);
  });
});

describe('/health with auth enabled', () => {
  it('counts a read refused for want of a user as answered (etcd 3.4.23 says healthy), other errors not', async () => {
    const refusing = (err: () => Error): HealthSource => ({ ...source(), range: async () => Promise.reject(err()) });
    for (const err of [ErrUserEmpty, ErrPermissionDenied]) {
      const p = new HealthProbes(refusing(err));
      expect(await p.answer('/health', q())).toEqual({ status: 200, body: '{"health":"true"}', error: false });
      expect((await p.answer('/readyz', q()))!.status).toBe(200);
      expect((await p.answer('/livez', q()))!.status).toBe(200);
    }
    const bad = new HealthProbes(refusing(ErrInvalidAuthToken));
    expect(await bad.answer('/health', q())).toMatchObject({ status: 503, reason: 'RANGE ERROR:etcdserver: invalid auth token' });
  });
});

describe('/livez and /readyz', () => {
  it('ok, verbose, exclude, sub paths, failures', async () => {
    const p = new HealthProbes(source());
    expect(await p.answer('/livez', q())).toEqual({ status: 200, body: 'ok\n', error: false });
    expect((await p.answer('/livez', q('verbose')))!.body).toBe('[+]serializable_read ok\nok\n');
    expect((await p.answer('/readyz', q('verbose')))!.body).toBe(
      '[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\nok\n',
    );
    expect((await p.answer('/readyz', q('verbose&exclude=non_learner&exclude=nope')))!.body).toBe(
      '[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\nok\n',
    );
    expect((await p.answer('/readyz/non_learner', q('verbose')))!.body).toBe('[+]non_learner ok\nok\n');
    expect(await p.answer('/readyz/nope', q())).toBeUndefined();
    expect(await p.answer('/livez/linearizable_read', q())).toBeUndefined();
    const sick = new HealthProbes(source({ alarms: ['CORRUPT'], learner: true, fail: (s) => (s ? undefined : 'etcdserver: no leader') }));
    expect(await sick.answer('/readyz', q())).toEqual({
      status: 503,
      error: true,
      body:
        '[-]data_corruption failed: alarm activated: CORRUPT\n[+]serializable_read ok\n' +
        '[-]linearizable_read failed: etcdserver: no leader\n[-]non_learner failed: not supported for learner\n\n',
    });
    expect((await sick.answer('/livez', q()))!.status).toBe(200);
    expect((await sick.answer('/readyz/serializable_read', q()))!.status).toBe(200);
  });
});

describe('HTTP handler and access control', () => {
  let server: http.Server | undefined;
  afterEach(() => server?.close());
  async function serve(h: http.RequestListener): Promise<string> {
    server = http.createServer(h);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const metrics = { scrapeMetrics: async () => ({ contentType: 'text/plain', body: 'm 1\n' }) };

  it('answers as etcd 3.4.23 did (recorded): /version JSON, 404 and 405 texts, CORS "*"', async () => {
    const base = await serve(withAccessControl(httpHandler({ health: source(), metrics }), { cors: ['*'], hostWhitelist: ['*'] }));
    let r = await fetch(`${base}/version`);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.text()).toBe('{"etcdserver":"3.4.0","etcdcluster":"3.4.0"}');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    r = await fetch(`${base}/healthz`);
    expect([r.status, await r.text(), r.headers.get('x-content-type-options')]).toEqual([404, '404 page not found\n', 'nosniff']);
    r = await fetch(`${base}/health`, { method: 'POST' });
    expect([r.status, await r.text(), r.headers.get('allow')]).toEqual([405, 'Method Not Allowed\n', 'GET']);
    r = await fetch(`${base}/readyz?verbose`);
    expect(r.status).toBe(200);
  });

  it('--cors lists origins; --host-whitelist refuses other hosts with 421', async () => {
    const base = await serve(withAccessControl(httpHandler({ health: source(), metrics }), { cors: ['http://a.example'], hostWhitelist: ['127.0.0.1'] }));
    let r = await fetch(`${base}/health`, { headers: { origin: 'http://a.example' } });
    expect(r.headers.get('access-control-allow-origin')).toBe('http://a.example');
    r = await fetch(`${base}/health`, { headers: { origin: 'http://b.example' } });
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const port = new URL(base).port;
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/health', headers: { host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject);
    });
    expect(status).toBe(421);
    expect(hostnameOf('[::1]:2379')).toBe('::1');
    expect(hostnameOf('a:1')).toBe('a');
  });

  it('a metrics listener serves /metrics and /health only, without CORS', async () => {
    const base = await serve(httpHandler({ health: source(), metrics }, { metricsOnly: true }));
    expect(await (await fetch(`${base}/metrics`)).text()).toBe('m 1\n');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/version`)).status).toBe(404);
    expect((await fetch(`${base}/livez`)).status).toBe(404);
    expect((await fetch(`${base}/health`)).headers.get('access-control-allow-origin')).toBeNull();
  });
});
