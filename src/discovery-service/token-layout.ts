// Where tokens live in the backing cluster's v2 keyspace, and how answers from
// there are shown to discovery clients. A token's directory is
// /discovery.etcd.io/registry/<token> (with _config/size and one key per member,
// the same names discoveryserver keeps under that prefix in v3); the collector's
// index is /discovery.etcd.io/gc/<token> = creation time (RFC 3339). Clients see
// keys relative to the registry ("/<token>/<id>"), as discovery.etcd.io shows them.
// Pure.

export const REGISTRY_DIR = '/discovery.etcd.io/registry';
export const GC_DIR = '/discovery.etcd.io/gc';

/** The v2 key path of something under a token (segments encoded for the URL). */
export function registryPath(token: string, ...below: string[]): string {
  return [REGISTRY_DIR, token, ...below].map((s) => s.split('/').map(encodeURIComponent).join('/')).join('/');
}

export function gcPath(token?: string): string {
  return token === undefined ? GC_DIR : `${GC_DIR}/${encodeURIComponent(token)}`;
}

interface V2Node {
  key?: unknown;
  nodes?: unknown;
  [field: string]: unknown;
}

function stripPrefix(key: string): string {
  if (key === REGISTRY_DIR) return '/';
  return key.startsWith(`${REGISTRY_DIR}/`) ? key.slice(REGISTRY_DIR.length) : key;
}

function rewriteNode(node: unknown): void {
  if (typeof node !== 'object' || node === null) return;
  const n = node as V2Node;
  if (typeof n.key === 'string') n.key = stripPrefix(n.key);
  if (Array.isArray(n.nodes)) for (const child of n.nodes) rewriteNode(child);
}

/**
 * A v2 answer body (an event or an error) with the registry prefix taken off its
 * keys and error cause; a body that is not JSON comes back unchanged. An error
 * caused above the registry (no token was ever made, so "/discovery.etcd.io" is
 * the first key missing) names the token's directory instead: from the client's
 * side that is the first key missing.
 */
export function clientView(body: string, token: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (typeof parsed !== 'object' || parsed === null) return body;
  const answer = parsed as { node?: unknown; prevNode?: unknown; cause?: unknown };
  rewriteNode(answer.node);
  rewriteNode(answer.prevNode);
  if (typeof answer.cause === 'string') {
    const aboveRegistry = answer.cause === REGISTRY_DIR || `${REGISTRY_DIR}/`.startsWith(`${answer.cause}/`);
    answer.cause = aboveRegistry ? `/${token}` : stripPrefix(answer.cause);
  }
  return JSON.stringify(parsed) + (body.endsWith('\n') ? '\n' : '');
}
