// Serves the built dashboard (dist/ui, made by `npm run build`) under /ui. It
// costs nothing until someone opens the page: no timers, no watchers; the list
// of built files is read at the first /ui request and each file at its first
// request, then kept in memory (the whole build is a few tens of KiB). Only the
// files of that list are ever served, so no request path reaches the file system.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type * as http from 'node:http';
import { goError } from '../../http-reply.js';
import { cacheControlOf, contentTypeOf, uiRoute } from './ui-route.js';

export interface UiOptions {
  /** The built dashboard; default: dist/ui of the package this module belongs to. */
  dir?: string;
  /**
   * Where the page sends its /v3 calls. Empty: its own origin (the client port).
   * The metrics listener serves no /v3, so its page is given the member's client URLs.
   */
  apiUrls?: string[];
}

interface LoadedFile {
  body: Buffer;
  gzip: Buffer | undefined;
  etag: string;
}

/** Under this size gzip saves less than its headers cost. */
const GZIP_MIN_BYTES = 1024;
/** The page only calls its own origin and the members' client URLs (CORS decides there). */
const INDEX_CSP = "default-src 'self'; connect-src 'self' http: https:; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

export class UiFiles {
  private names: Set<string> | undefined;
  private readonly loaded = new Map<string, LoadedFile>();
  private readonly dir: string;

  constructor(private readonly opts: UiOptions = {}) {
    this.dir = opts.dir ?? defaultUiDir();
  }

  serve(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return goError(res, 405, 'Method Not Allowed');
    }
    const route = uiRoute(url.pathname, url.search);
    if (route.kind === 'redirect') {
      res.writeHead(301, { Location: route.location, 'Content-Length': 0 });
      res.end();
      return;
    }
    const names = this.listNames();
    if (names.size === 0) return goError(res, 404, 'the dashboard is not built: run `npm run build`');
    if (route.kind === 'not-found' || !names.has(route.name)) return goError(res, 404, '404 page not found');
    const file = this.load(route.name);
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': contentTypeOf(route.name),
      'Cache-Control': cacheControlOf(route.name),
      ETag: file.etag,
      Vary: 'Accept-Encoding',
      'X-Content-Type-Options': 'nosniff',
    };
    if (route.name === 'index.html') headers['Content-Security-Policy'] = INDEX_CSP;
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gzip = file.gzip && acceptsGzip(req.headers['accept-encoding']);
    const body = gzip ? file.gzip! : file.body;
    if (gzip) headers['Content-Encoding'] = 'gzip';
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** The built files by name ("index.html", "assets/…"); empty when nothing is built. */
  private listNames(): Set<string> {
    if (this.names && this.names.size > 0) return this.names;
    const names = new Set<string>();
    if (existsSync(join(this.dir, 'index.html'))) {
      for (const path of walk(this.dir)) names.add(relative(this.dir, path).split(sep).join('/'));
    }
    // An empty list is looked up again next time: the build may land while the member runs.
    return (this.names = names);
  }

  private load(name: string): LoadedFile {
    let file = this.loaded.get(name);
    if (file) return file;
    let body = readFileSync(join(this.dir, ...name.split('/')));
    if (name === 'index.html') body = Buffer.from(withApiUrls(body.toString('utf8'), this.opts.apiUrls ?? []));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    file = { body, gzip: body.length >= GZIP_MIN_BYTES ? gzipSync(body) : undefined, etag };
    this.loaded.set(name, file);
    return file;
  }
}

/** index.html carries `<meta name="etcd-api-urls" content="">`; the page reads where to call from it. */
export function withApiUrls(html: string, urls: string[]): string {
  const content = urls.join(',').replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return html.replace(/(<meta name="etcd-api-urls" content=")[^"]*(")/, `$1${content}$2`);
}

function acceptsGzip(header: string | undefined): boolean {
  for (const part of (header ?? '').split(',')) {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (coding !== 'gzip') continue;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

/** dist/ui beside package.json, found from this module (src/ under vitest, dist/src/ after tsc). */
function defaultUiDir(): string {
  const override = process.env.ETCD_TS_UI_DIR;
  if (override) return override;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'package.json')) && statSync(join(dir, 'package.json')).isFile()) return join(dir, 'dist', 'ui');
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(dirname(fileURLToPath(import.meta.url)), 'ui');
}
