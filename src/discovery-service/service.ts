// The discovery service's HTTP handler, answering as etcd-io/discoveryserver does:
// /new makes a token and answers its URL, /health makes and deletes one and
// answers "OK", token paths are the v2 discovery protocol served by the backing
// cluster's v2 store (so prevExist=false, waitIndex and the v2 error bodies are
// etcd's own). Differences, on purpose: a backing-store error on a token path
// passes through as etcd's v2 error (404 errorCode 100 for an unknown token, 412
// for a duplicate member id) where discoveryserver says 400 "unable to GET token",
// and an unreachable backing store is 503, which etcd's discovery client retries.

import type * as http from 'node:http';
import type { Logger } from '../server/logger.js';
import { BackingUnavailableError } from './backing-v2.js';
import { parseClusterSize, tokenUrl } from './new-token.js';
import { FormTooLargeError, formValue, readFormBody } from './request-form.js';
import { routeRequest, type Route } from './routes.js';
import type { TokenStore } from './token-store.js';
import { DiscoveryMetrics } from './metrics.js';

export const PROTOCOL_DOCS_URL = 'https://etcd.io/docs/v3.5/dev-internal/discovery_protocol';

export interface DiscoveryServiceDeps {
  store: Pick<TokenStore, 'create' | 'delete' | 'forward'>;
  publicHost: string;
  logger: Logger;
  now?: () => number;
  metrics?: DiscoveryMetrics;
}

/** Go's http.Error: plain text, the message and a newline. */
function goError(res: http.ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(`${message}\n`);
}

function text(res: http.ServerResponse, body: string): void {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

/** strconv.ParseBool's true spellings: what etcd's v2 API takes as wait=true. */
const TRUE_WORDS = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);

/**
 * The request's path exactly as sent (WHATWG URL parsing would already resolve
 * "." and ".." segments, escaped ones too, which the router redirects as mux
 * does) and its query.
 */
function requestTarget(raw: string): { pathname: string; search: string; searchParams: URLSearchParams } {
  const absolute = !raw.startsWith('/');
  const target = absolute ? new URL(raw, 'http://discovery.invalid') : undefined;
  const q = raw.indexOf('?');
  const pathname = target ? target.pathname : q < 0 ? raw : raw.slice(0, q);
  const search = target ? target.search : q < 0 ? '' : raw.slice(q);
  return { pathname, search, searchParams: new URLSearchParams(search) };
}

export function discoveryHandler(deps: DiscoveryServiceDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics ?? new DiscoveryMetrics();

  async function newToken(req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams): Promise<void> {
    const size = parseClusterSize(formValue(await readFormBody(req), query, 'size'));
    if (!size.ok) return goError(res, 400, size.message);
    let token: string;
    try {
      token = await deps.store.create(size.size, now());
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'setupToken failed');
      return goError(res, 400, 'unable to generate token');
    }
    deps.logger.info({ token, size: size.size }, 'New cluster created');
    text(res, tokenUrl(deps.publicHost, token));
  }

  async function health(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    req.resume();
    let token: string;
    try {
      token = await deps.store.create('0', now());
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'health failed to setupToken');
      return goError(res, 400, 'health failed to setupToken');
    }
    try {
      await deps.store.delete(token);
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'health failed to deleteToken');
      return goError(res, 400, 'health failed to deleteToken');
    }
    text(res, 'OK');
  }

  async function onToken(req: http.IncomingMessage, res: http.ServerResponse, route: Extract<Route, { kind: 'token' }>, query: URLSearchParams): Promise<void> {
    const form = await readFormBody(req);
    // A long poll ends when its client goes away.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const reply = await deps.store.forward({
      method: req.method as 'GET' | 'PUT' | 'DELETE',
      token: route.token,
      target: route.target,
      query,
      ...([...form].length > 0 ? { form } : {}),
      ...(TRUE_WORDS.has(query.get('wait') ?? '') ? { longPoll: true, signal: gone.signal } : {}),
    });
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': reply.contentType ?? 'application/json' };
    if (reply.etcdIndex !== undefined) headers['X-Etcd-Index'] = reply.etcdIndex;
    res.writeHead(reply.status, headers);
    res.end(reply.body);
  }

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = requestTarget(req.url ?? '/');
    const route = routeRequest(req.method ?? 'GET', url.pathname);
    res.on('finish', () => {
      deps.logger.debug({ method: req.method, path: url.pathname, status: res.statusCode }, 'request');
      if (route.kind === 'new' || route.kind === 'health' || route.kind === 'token') metrics.count(route.kind, res.statusCode, req.method ?? 'GET');
    });
    switch (route.kind) {
      case 'home':
        res.writeHead(301, { Location: PROTOCOL_DOCS_URL });
        return void res.end();
      case 'robots':
        return text(res, 'User-agent: *\nDisallow: /');
      case 'metrics': {
        const { contentType, body } = await metrics.exposition();
        res.writeHead(200, { 'Content-Type': contentType });
        return void res.end(body);
      }
      case 'redirect':
        res.writeHead(301, { Location: encodeURI(route.location) + url.search });
        return void res.end();
      case 'not-found':
        return goError(res, 404, '404 page not found');
      case 'method-not-allowed':
        res.writeHead(405);
        return void res.end();
      case 'new':
        return newToken(req, res, url.searchParams);
      case 'health':
        return health(req, res);
      case 'token':
        return onToken(req, res, route, url.searchParams);
    }
  }

  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof FormTooLargeError) return goError(res, 413, err.message);
      if (err instanceof BackingUnavailableError) {
        deps.logger.warn({ err: err.message, path: req.url }, 'backing etcd unavailable');
        return goError(res, 503, 'backing etcd unavailable');
      }
      if ((err as Error).name === 'AbortError') return void res.destroy();
      deps.logger.error({ err: (err as Error).message, path: req.url }, 'discovery request failed');
      goError(res, 500, 'internal error');
    });
  };
}
