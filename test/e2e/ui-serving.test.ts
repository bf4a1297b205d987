// The dashboard as a real member serves it (bin/etcd-ts with the built dist/ui):
// /ui on the client port and on --listen-metrics-urls, the page naming its hashed
// assets, their types, cache and compression, the metrics port's page pointing at
// the client URL, and a bound on what a browser downloads. The pages themselves
// are driven in Chromium by the dashboard's e2e suite.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, Member } from './helpers/member.js';

/** What the first view may cost a browser (gzip): the main bundle and the stylesheet. */
const FIRST_VIEW_GZIP_BYTES = 40 * 1024;

describe('/ui on a member', () => {
  let member: Member;
  let metricsUrl: string;

  beforeAll(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    member = await Member.create({ extraArgs: ['--listen-metrics-urls', metricsUrl] });
    await member.start();
  });
  afterAll(async () => {
    await member?.cleanup();
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(10_000) });

  it('redirects /ui to /ui/ and serves the page naming its hashed assets', async () => {
    const redirect = await get(`${member.clientUrl}/ui`);
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/ui/');
    const page = await get(`${member.clientUrl}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    expect(html).toContain('<meta name="etcd-api-urls" content="">');
    expect(html).toMatch(/<script type="module" src="assets\/main-[A-Z0-9]+\.js"><\/script>/);
    expect(html).toMatch(/<link rel="stylesheet" href="assets\/main-[A-Z0-9]+\.css">/);
    expect(html).not.toMatch(/https?:\/\//); // no CDN, no external font
  });

  it('serves the assets with their types, for a year, gzipped, and within the size bound', async () => {
    const html = await (await get(`${member.clientUrl}/ui/`)).text();
    const js = /src="(assets\/main-[A-Z0-9]+\.js)"/.exec(html)![1]!;
    const css = /href="(assets\/main-[A-Z0-9]+\.css)"/.exec(html)![1]!;
    let firstView = 0;
    for (const [path, type] of [
      [js, 'text/javascript; charset=utf-8'],
      [css, 'text/css; charset=utf-8'],
    ] as const) {
      const res = await get(`${member.clientUrl}/ui/${path}`, { 'Accept-Encoding': 'gzip' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      // fetch undoes the gzip; the header and Content-Length tell what went over the wire.
      expect(res.headers.get('content-encoding')).toBe('gzip');
      firstView += Number(res.headers.get('content-length'));
      expect((await res.text()).length).toBeGreaterThan(1000);
    }
    expect(firstView).toBeLessThan(FIRST_VIEW_GZIP_BYTES);
    expect((await get(`${member.clientUrl}/ui/assets/nope.js`)).status).toBe(404);
    expect((await get(`${member.clientUrl}/ui/..%2f..%2fpackage.json`)).status).toBe(404);
  });

  it('serves the page on the metrics port too, pointed at the client URL', async () => {
    const page = await get(`${metricsUrl}/ui/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`<meta name="etcd-api-urls" content="${member.clientUrl}">`);
    // That URL answers the page's calls from the metrics port's origin (CORS, default --cors "*").
    const status = await fetch(`${member.clientUrl}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      headers: { Origin: metricsUrl, 'Content-Type': 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
    expect(status.status).toBe(200);
    expect(status.headers.get('access-control-allow-origin')).toBe('*');
  });
});
