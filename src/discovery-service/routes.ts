// Which handler a request goes to, as discoveryserver's gorilla/mux router decides:
// "/", "/new", "/health", "/robots.txt" for any method; a token (32 lower-case hex
// digits) as "/<token>" or "/<token>/" (GET, PUT), "/<token>/<machine>" (GET, PUT,
// DELETE) and "/<token>/_config/size" (GET). A known path with another method is
// 405, anything else 404; an unclean path ("//", "/./", "/../") is redirected to
// its clean form (mux does that too), so no ".." ever reaches the backing store.
// "/metrics" is the Prometheus exposition. Pure: method and raw path in, a route out.

import { posix } from 'node:path';

export const TOKEN_PATTERN = /^[a-f0-9]{32}$/;

/** Where a request under a token points, relative to the token's directory. */
export type TokenTarget =
  | { kind: 'dir' }
  | { kind: 'size' }
  /** A registered member, by its id (any name without "/"). */
  | { kind: 'machine'; name: string };

export type Route =
  | { kind: 'home' }
  | { kind: 'new' }
  | { kind: 'health' }
  | { kind: 'robots' }
  | { kind: 'metrics' }
  | { kind: 'token'; token: string; target: TokenTarget }
  | { kind: 'redirect'; location: string }
  | { kind: 'method-not-allowed' }
  | { kind: 'not-found' };

const DIR_METHODS = ['GET', 'PUT'];
const MACHINE_METHODS = ['GET', 'PUT', 'DELETE'];
const SIZE_METHODS = ['GET'];

/** Go's URL.Path: the raw path percent-decoded (undefined when the escapes are bad). */
function decodedPath(rawPath: string): string | undefined {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
}

/** mux's cleanPath: path.Clean, keeping a trailing slash. */
function cleanPath(p: string): string {
  if (p === '') return '/';
  const rooted = p.startsWith('/') ? p : `/${p}`;
  let clean = posix.normalize(rooted);
  if (clean.length > 1 && clean.endsWith('/') && !p.endsWith('/')) clean = clean.slice(0, -1);
  if (p.endsWith('/') && !clean.endsWith('/')) clean += '/';
  return clean;
}

function tokenRoute(method: string, token: string, rest: string[]): Route {
  let target: TokenTarget;
  let methods: string[];
  if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) {
    target = { kind: 'dir' };
    methods = DIR_METHODS;
  } else if (rest.length === 1) {
    target = { kind: 'machine', name: rest[0]! };
    methods = MACHINE_METHODS;
  } else if (rest.length === 2 && rest[0] === '_config' && rest[1] === 'size') {
    target = { kind: 'size' };
    methods = SIZE_METHODS;
  } else {
    return { kind: 'not-found' };
  }
  if (!methods.includes(method)) return { kind: 'method-not-allowed' };
  return { kind: 'token', token, target };
}

export function routeRequest(method: string, rawPath: string): Route {
  const path = decodedPath(rawPath);
  if (path === undefined) return { kind: 'not-found' };
  const clean = cleanPath(path);
  if (clean !== path) return { kind: 'redirect', location: clean };
  switch (path) {
    case '/':
      return { kind: 'home' };
    case '/new':
      return { kind: 'new' };
    case '/health':
      return { kind: 'health' };
    case '/robots.txt':
      return { kind: 'robots' };
    case '/metrics':
      return { kind: 'metrics' };
  }
  const [token, ...rest] = path.slice(1).split('/');
  if (token === undefined || !TOKEN_PATTERN.test(token)) return { kind: 'not-found' };
  return tokenRoute(method, token, rest);
}
