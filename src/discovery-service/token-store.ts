// Tokens in the backing cluster: create one (its _config/size, then its entry in
// the collector's index), delete one (directory, then index entry), list the
// index, and pass a client's request on a token to the backing store.

import type { BackingV2, V2Reply } from './backing-v2.js';
import { generateToken } from './new-token.js';
import { gcPath, registryPath, clientView, GC_DIR } from './token-layout.js';
import { rfc3339, type GcEntry } from './gc-policy.js';
import type { TokenTarget } from './routes.js';

/** The backing store answered, but not as a token operation needs. */
export class TokenStoreError extends Error {}

export interface ForwardRequest {
  method: 'GET' | 'PUT' | 'DELETE';
  token: string;
  target: TokenTarget;
  query: URLSearchParams;
  form?: URLSearchParams;
  /** wait=true: no time bound; the signal ends it when the client leaves. */
  longPoll?: boolean;
  signal?: AbortSignal;
}

function requireStatus(reply: V2Reply, ok: number[], what: string): void {
  if (!ok.includes(reply.status)) throw new TokenStoreError(`${what}: backing etcd answered ${reply.status} ${reply.body.trim()}`);
}

export class TokenStore {
  constructor(private readonly backing: BackingV2) {}

  /**
   * A new token whose _config/size is `size`, recorded for the collector at
   * `nowMs` first: a token that fails half-way is then an index entry the
   * collector clears, never a directory nothing would collect.
   */
  async create(size: string, nowMs: number): Promise<string> {
    const token = generateToken();
    const gcReply = await this.backing.request({ method: 'PUT', keyPath: gcPath(token), form: new URLSearchParams({ value: rfc3339(nowMs) }) });
    requireStatus(gcReply, [200, 201], 'record token for gc');
    const sizeReply = await this.backing.request({
      method: 'PUT',
      keyPath: registryPath(token, '_config', 'size'),
      query: new URLSearchParams({ prevExist: 'false' }),
      form: new URLSearchParams({ value: size }),
    });
    requireStatus(sizeReply, [201], 'create size key');
    return token;
  }

  /** Removes the token's directory and its index entry; either may be gone already. */
  async delete(token: string): Promise<void> {
    const dirReply = await this.backing.request({ method: 'DELETE', keyPath: registryPath(token), query: new URLSearchParams({ recursive: 'true' }) });
    requireStatus(dirReply, [200, 404], `delete token ${token}`);
    const gcReply = await this.backing.request({ method: 'DELETE', keyPath: gcPath(token) });
    requireStatus(gcReply, [200, 404], `delete gc entry of ${token}`);
  }

  /** The collector's index: every token with its creation time. */
  async gcEntries(): Promise<GcEntry[]> {
    const reply = await this.backing.request({ method: 'GET', keyPath: GC_DIR });
    if (reply.status === 404) return [];
    requireStatus(reply, [200], 'list gc entries');
    const answer = JSON.parse(reply.body) as { node?: { nodes?: { key: string; value?: string }[] } };
    return (answer.node?.nodes ?? []).map((n) => ({ token: n.key.slice(n.key.lastIndexOf('/') + 1), created: n.value ?? '' }));
  }

  /**
   * A discovery client's request on a token, answered by the backing store (keys
   * shown relative to the registry). A PUT needs a token /new made: the v2 store
   * would otherwise create the directory on the fly, and nothing would ever
   * collect it (etcd's own client reads _config/size before registering anyway).
   */
  async forward(req: ForwardRequest): Promise<V2Reply> {
    if (req.method === 'PUT') {
      const size = await this.backing.request({ method: 'GET', keyPath: registryPath(req.token, '_config', 'size') });
      if (size.status === 404) return { ...size, body: clientView(size.body, req.token) };
    }
    const below = req.target.kind === 'dir' ? [] : req.target.kind === 'size' ? ['_config', 'size'] : [req.target.name];
    const reply = await this.backing.request({
      method: req.method,
      keyPath: registryPath(req.token, ...below),
      query: req.query,
      ...(req.form ? { form: req.form } : {}),
      longPoll: req.longPoll === true,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    return { ...reply, body: clientView(reply.body, req.token) };
  }
}
