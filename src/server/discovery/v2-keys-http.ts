// The little of etcd's v2 keys client that discovery uses — get, create
// (prevExist=false), and a long-poll wait — over node:http(s), optionally through
// an HTTP proxy (--discovery-proxy), with the v2 client's error semantics:
// unreachable or 5xx is "cluster unavailable" (retried by discovery), an error
// answer is the server's v2 error, anything else that is not JSON means the URL
// is no etcd.

import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import {
  DeadlineExceededError,
  DiscoveryUnavailableError,
  V2KeysError,
  V2ResponseError,
} from './errors.js';

export interface V2Node {
  key: string;
  value?: string;
  dir?: boolean;
  nodes?: V2Node[];
  createdIndex: number;
  modifiedIndex: number;
}

export interface V2Answer {
  action: string;
  node: V2Node;
  /** X-Etcd-Index. */
  index: number;
}

/** The keys calls discovery makes; keys are paths on the endpoint ("/v2/keys/discovery/<token>/..."). */
export interface V2Keys {
  /** The endpoint (scheme://host), as etcd logs it. */
  readonly endpoint: string;
  get(key: string): Promise<V2Answer>;
  /** PUT ?prevExist=false. */
  create(key: string, value: string): Promise<V2Answer>;
  /** GET ?wait=true&waitIndex=N[&recursive=true], no deadline; an empty answer is asked again. */
  wait(key: string, waitIndex: number, recursive: boolean): Promise<V2Answer>;
}

/** etcd's client.DefaultRequestTimeout, for every call but the wait. */
export const REQUEST_TIMEOUT_MS = 5_000;

interface RawAnswer {
  status: number;
  index: string | undefined;
  body: string;
}

export function httpV2Keys(endpoint: URL, opts: { proxy?: URL; requestTimeoutMs?: number } = {}): V2Keys {
  const origin = `${endpoint.protocol}//${endpoint.host}`;
  const timeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const call = async (method: 'GET' | 'PUT', key: string, query: Record<string, string>, form?: string, deadline?: number): Promise<V2Answer | undefined> => {
    const url = new URL(origin + canonicalPath(key));
    for (const [k, v] of Object.entries(query).sort(([a], [b]) => a.localeCompare(b))) url.searchParams.set(k, v);
    const raw = await send(method, url, form, deadline, opts.proxy);
    if (Math.floor(raw.status / 100) === 5) {
      const what =
        raw.status === 500 || raw.status === 503
          ? `client: etcd member ${origin} has no leader`
          : `client: etcd member ${origin} returns server error [${http.STATUS_CODES[raw.status] ?? raw.status}]`;
      throw new DiscoveryUnavailableError([what]);
    }
    return decode(raw);
  };
  const must = (a: V2Answer | undefined): V2Answer => {
    if (!a) throw V2ResponseError.emptyBody;
    return a;
  };
  return {
    endpoint: origin,
    get: async (key) => must(await call('GET', key, { quorum: 'false', recursive: 'false', sorted: 'false' }, undefined, timeoutMs)),
    create: async (key, value) =>
      must(await call('PUT', key, { prevExist: 'false' }, new URLSearchParams({ value }).toString(), timeoutMs)),
    wait: async (key, waitIndex, recursive) => {
      for (;;) {
        const a = await call('GET', key, { wait: 'true', waitIndex: String(waitIndex), recursive: String(recursive) });
        if (a) return a;
      }
    },
  };
}

/** The answer of a v2 keys call, or undefined for an empty 200/201 body (etcd's ErrEmptyBody). */
function decode(raw: RawAnswer): V2Answer | undefined {
  const ok = raw.status === 200 || raw.status === 201;
  if (ok && raw.body === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.body);
  } catch {
    throw V2ResponseError.invalidJson;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw V2ResponseError.invalidJson;
  const o = parsed as Record<string, unknown>;
  if (!ok) {
    throw new V2KeysError(Number(o.errorCode ?? 0), String(o.message ?? ''), String(o.cause ?? ''), Number(o.index ?? 0));
  }
  if (o.node === null || typeof o.node !== 'object') throw V2ResponseError.invalidJson;
  return { action: String(o.action ?? ''), node: o.node as V2Node, index: Number(raw.index ?? 0) };
}

/** Go's path.Clean with the trailing slash kept (etcd's CanonicalURLPath). */
export function canonicalPath(p: string): string {
  const withRoot = p.startsWith('/') ? p : '/' + p;
  const out: string[] = [];
  for (const seg of withRoot.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const clean = '/' + out.join('/');
  return withRoot.endsWith('/') && clean !== '/' ? clean + '/' : clean;
}

/** Go's dial error text for the common case, so the log reads as etcd's. */
function dialDetail(err: NodeJS.ErrnoException, url: URL): string {
  if (err.code === 'ECONNREFUSED') return `dial tcp ${url.host}: connect: connection refused`;
  return err.message;
}

function send(method: string, url: URL, form: string | undefined, timeoutMs: number | undefined, proxy: URL | undefined): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const timer = timeoutMs !== undefined ? setTimeout(() => {
      fail(new DeadlineExceededError());
      req?.destroy();
    }, timeoutMs) : undefined;
    const headers: Record<string, string | number> = {};
    if (form !== undefined) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = Buffer.byteLength(form);
    }
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => fail(new DiscoveryUnavailableError([err.message])));
      res.on('end', () => {
        if (timer) clearTimeout(timer);
        if (settled) return;
        settled = true;
        const index = res.headers['x-etcd-index'];
        resolve({ status: res.statusCode ?? 0, index: Array.isArray(index) ? index[0] : index, body: Buffer.concat(chunks).toString('utf8') });
      });
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      if (timer) clearTimeout(timer);
      fail(new DiscoveryUnavailableError([dialDetail(err, proxy ?? url)]));
    };
    let req: http.ClientRequest | undefined;
    const secure = url.protocol === 'https:';
    const direct = (connection?: Duplex): void => {
      const options: https.RequestOptions = {
        method, headers, agent: false,
        hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || (secure ? 443 : 80), path: url.pathname + url.search,
        ...(connection ? { createConnection: () => connection } : {}),
      };
      req = (secure ? https : http).request(options, onResponse);
      req.on('error', onError);
      req.end(form);
    };
    if (!proxy) return direct();
    if (!secure) {
      // An HTTP proxy takes the absolute URL as the request target.
      req = http.request({ method, headers: { ...headers, Host: url.host }, agent: false, hostname: proxy.hostname, port: proxy.port || 80, path: url.href }, onResponse);
      req.on('error', onError);
      req.end(form);
      return;
    }
    // https through the proxy: a CONNECT tunnel, then TLS to the discovery host inside it.
    const connect = http.request({ method: 'CONNECT', agent: false, hostname: proxy.hostname, port: proxy.port || 80, path: `${url.hostname}:${url.port || 443}` });
    req = connect;
    connect.on('error', onError);
    connect.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        onError(Object.assign(new Error(`proxyconnect tcp: ${res.statusCode} ${res.statusMessage ?? ''}`.trim()), {}));
        return;
      }
      direct(tls.connect({ socket, servername: url.hostname }));
    });
    connect.end();
  });
}
