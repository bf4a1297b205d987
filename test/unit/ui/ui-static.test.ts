// The /ui static handler: which paths name which file, traversal attempts,
// content types and cache headers, HEAD, 304, gzip, the metrics port's API URL,
// and the "not built" answer — through the client port's HTTP handler, on a
// real socket, over a build made in a temp dir.

import * as http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpHandler } from '../../../src/server/api/http.js';
import type { UiOptions } from '../../../src/server/api/ui/ui-files.js';
import { cacheControlOf, contentTypeOf, uiRoute } from '../../../src/server/api/ui/ui-route.js';
import { freePort } from '../../e2e/helpers/member.js';

describe('uiRoute', () => {
  it('redirects /ui to /ui/ keeping the query', () => {
    expect(uiRoute('/ui')).toEqual({ kind: 'redirect', location: '/ui/' });
    expect(uiRoute('/ui', '?x=1')).toEqual({ kind: 'redirect', location: '/ui/?x=1' });
  });

  it('serves index.html for /ui/ and /ui/index.html, files by name below', () => {
    expect(uiRoute('/ui/')).toEqual({ kind: 'file', name: 'index.html' });
    expect(uiRoute('/ui/index.html')).toEqual({ kind: 'file', name: 'index.html' });
    expect(uiRoute('/ui/assets/main-AB12.js')).toEqual({ kind: 'file', name: 'assets/main-AB12.js' });
  });

  it('refuses traversal and odd names before any lookup', () => {
    for (const p of ['/ui/..', '/ui/../etc/passwd', '/ui/assets/..%2f..%2fpackage.json', '/ui/%2e%2e/x', '/ui/a//b', '/ui/a%5c..%5cb', '/ui/a%00b', '/ui/%zz', '/ui/./index.html', '/uix', '/other']) {
      expect(uiRoute(p).kind, p).toBe('not-found');
    }
  });

  it('names content types and cache policies', () => {
    expect(contentTypeOf('index.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('assets/main-X.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('assets/main-X.css')).toBe('text/css; charset=utf-8');
    expect(contentTypeOf('assets/x.svg')).toBe('image/svg+xml');
    expect(contentTypeOf('assets/blob')).toBe('application/octet-stream');
    expect(cacheControlOf('assets/main-X.js')).toBe('public, max-age=31536000, immutable');
    expect(cacheControlOf('index.html')).toBe('no-cache');
  });
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

describe('/ui on the HTTP handler', () => {
  let dir: string;
  const servers: http.Server[] = [];
  const bigJs = 'console.log("dashboard");\n'.repeat(200);

  async function serve(ui: UiOptions | undefined, metricsOnly = false): Promise<number> {
    const handler = httpHandler(
      { health: { leader: 1n, range: async () => ({}) as never, activeAlarms: () => [], isLearner: () => false }, metrics: { scrapeMetrics: async () => ({ body: 'm 1\n', contentType: 'text/plain' }) } } as never,
      { metricsOnly, ...(ui ? { ui } : {}) },
    );
    const server = http.createServer(handler);
    servers.push(server);
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return port;
  }

  function request(port: number, path: string, opts: { method?: string; headers?: http.OutgoingHttpHeaders } = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {}, timeout: 5000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ui-static-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<html><head><meta name="etcd-api-urls" content=""></head><body>dash</body></html>');
    writeFileSync(join(dir, 'assets', 'main-ABC.js'), bigJs);
    writeFileSync(join(dir, 'assets', 'main-ABC.css'), 'body{}');
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html with no-cache, an ETag, a CSP, and answers 304 to the ETag', async () => {
    const port = await serve({ dir });
    const a = await request(port, '/ui/');
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(a.headers['cache-control']).toBe('no-cache');
    expect(a.headers['content-security-policy']).toContain("default-src 'self'");
    expect(a.body.toString()).toContain('<body>dash</body>');
    expect(a.headers['content-length']).toBe(String(a.body.length));
    const again = await request(port, '/ui/index.html', { headers: { 'If-None-Match': a.headers.etag! } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it('redirects /ui to /ui/', async () => {
    const port = await serve({ dir });
    const a = await request(port, '/ui');
    expect(a.status).toBe(301);
    expect(a.headers.location).toBe('/ui/');
  });

  it('serves hashed assets for a year, gzipped when asked, with their content type', async () => {
    const port = await serve({ dir });
    const plain = await request(port, '/ui/assets/main-ABC.js');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(bigJs);
    const gz = await request(port, '/ui/assets/main-ABC.js', { headers: { 'Accept-Encoding': 'br, gzip;q=0.8' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.body.length).toBeLessThan(bigJs.length);
    expect(gunzipSync(gz.body).toString()).toBe(bigJs);
    const refused = await request(port, '/ui/assets/main-ABC.js', { headers: { 'Accept-Encoding': 'gzip;q=0' } });
    expect(refused.headers['content-encoding']).toBeUndefined();
    const css = await request(port, '/ui/assets/main-ABC.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers HEAD with the headers and no body', async () => {
    const port = await serve({ dir });
    const a = await request(port, '/ui/assets/main-ABC.js', { method: 'HEAD' });
    expect(a.status).toBe(200);
    expect(a.headers['content-length']).toBe(String(Buffer.byteLength(bigJs)));
    expect(a.body.length).toBe(0);
  });

  it('answers 404 for unknown files and traversal attempts, 405 for other methods', async () => {
    const port = await serve({ dir });
    for (const p of ['/ui/nope.js', '/ui/assets/../../package.json', '/ui/assets/..%2f..%2fpackage.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/assets/main-ABC.js%00', '/ui/assets']) {
      const a = await request(port, p);
      expect(a.status, p).toBe(404);
    }
    const post = await request(port, '/ui/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('puts the client URLs into the page served on the metrics port', async () => {
    const port = await serve({ dir, apiUrls: ['http://10.0.0.1:2379', 'http://x"y'] }, true);
    const a = await request(port, '/ui/');
    expect(a.status).toBe(200);
    expect(a.body.toString()).toContain('<meta name="etcd-api-urls" content="http://10.0.0.1:2379,http://x&quot;y">');
    // The metrics port still serves only /metrics and /health besides.
    expect((await request(port, '/v3/kv/range', { method: 'POST' })).status).toBe(404);
    expect((await request(port, '/metrics')).status).toBe(200);
  });

  it('says the dashboard is not built when the build is missing, and 404s /ui without the option', async () => {
    const port = await serve({ dir: join(dir, 'missing') });
    const a = await request(port, '/ui/');
    expect(a.status).toBe(404);
    expect(a.body.toString()).toContain('npm run build');
    const none = await serve(undefined);
    expect((await request(none, '/ui/')).status).toBe(404);
  });
});
