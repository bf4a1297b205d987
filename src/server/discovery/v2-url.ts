// The --discovery URL and --discovery-proxy, read as etcd's newDiscovery reads
// them: the URL's path is the token (the key directory), its scheme and host the
// endpoint. A URL etcd cannot send to (no http/https scheme) is not refused at
// start: every request fails as "unreachable" and is retried, as etcd 3.4 does.

import { DiscoveryUnavailableError } from './errors.js';
import { httpV2Keys, type V2Keys } from './v2-keys-http.js';

export interface DiscoveryUrl {
  /** The URL's path: "/v2/keys/discovery/<token>". */
  tokenPath: string;
  keys: V2Keys;
}

export class DiscoveryProxyError extends Error {}

export function parseDiscoveryUrl(durl: string, proxy: string, requestTimeoutMs?: number): DiscoveryUrl {
  let url: URL | undefined;
  try {
    url = new URL(durl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    const scheme = url ? url.protocol.replace(/:$/, '') : '';
    const tokenPath = url ? url.pathname : durl.replace(/[?#].*$/, '');
    return { tokenPath, keys: unreachable(`unsupported protocol scheme "${scheme}"`) };
  }
  const proxyUrl = parseProxy(proxy);
  return {
    tokenPath: decodeURIComponent(url.pathname),
    keys: httpV2Keys(url, { ...(proxyUrl ? { proxy: proxyUrl } : {}), ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}) }),
  };
}

/** etcd's newProxyFunc: a bare "host:port" means http://host:port. */
export function parseProxy(proxy: string): URL | undefined {
  if (proxy === '') return undefined;
  for (const candidate of [proxy, `http://${proxy}`]) {
    try {
      const u = new URL(candidate);
      if (u.protocol.startsWith('http')) return u;
    } catch {
      // try the next form
    }
  }
  throw new DiscoveryProxyError(`invalid proxy address "${proxy}": parse "${proxy}": invalid URL`);
}

function unreachable(detail: string): V2Keys {
  const fail = (): Promise<never> => Promise.reject(new DiscoveryUnavailableError([detail]));
  return { endpoint: '', get: fail, create: fail, wait: fail };
}
