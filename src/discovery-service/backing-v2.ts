// The backing cluster's v2 keys API (/v2/keys on etcd 3.4 --enable-v2, or on an
// etcd-ts member with --enable-v2) as a small HTTP client: one request at a time,
// the answer's status, X-Etcd-Index and body handed back as they came. Several
// endpoints: a request that cannot connect moves on to the next (and remembers
// it); one that connected but failed is not repeated, since a create with
// prevExist=false may have been applied already.

import * as http from 'node:http';
import * as https from 'node:https';

export interface V2Reply {
  status: number;
  /** X-Etcd-Index of the answer, when the backing store sent one. */
  etcdIndex: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface V2Request {
  method: 'GET' | 'PUT' | 'DELETE';
  /** The key path below /v2/keys, each segment already percent-encoded. */
  keyPath: string;
  query?: URLSearchParams;
  /** An application/x-www-form-urlencoded body (PUT). */
  form?: URLSearchParams;
  /** A long poll (wait=true): no time bound, ended by the signal instead. */
  longPoll?: boolean;
  signal?: AbortSignal;
}

/** No endpoint of the backing cluster answered (the service answers 503). */
export class BackingUnavailableError extends Error {}

/** Errors that mean the request never reached the endpoint: safe to send elsewhere. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether a failed request may go to the next endpoint. A reset (typically a kept-
 * alive socket the endpoint closed as it stopped) is retried for reads and deletes
 * only: a create may have been applied before the reset, and sent again it would
 * come back "Key already exists".
 */
function mayRetry(code: string | undefined, method: V2Request['method']): boolean {
  if (code === undefined) return false;
  return CONNECT_ERRORS.has(code) || (code === 'ECONNRESET' && method !== 'PUT');
}

export class BackingV2 {
  private preferred = 0;
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });

  constructor(
    readonly endpoints: readonly string[],
    /** A bound for every request but long polls (discoveryserver gives etcd 5 s). */
    private readonly requestTimeoutMs = 5_000,
  ) {
    if (endpoints.length === 0) throw new Error('BackingV2: no endpoint');
  }

  async request(req: V2Request): Promise<V2Reply> {
    const errors: string[] = [];
    for (let i = 0; i < this.endpoints.length; i++) {
      const at = (this.preferred + i) % this.endpoints.length;
      try {
        const reply = await this.send(this.endpoints[at]!, req);
        this.preferred = at;
        return reply;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        errors.push(`${this.endpoints[at]}: ${(err as Error).message}`);
        if (req.signal?.aborted || !mayRetry(code, req.method)) break;
      }
    }
    throw new BackingUnavailableError(`backing etcd unavailable (${errors.join('; ')})`);
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private send(endpoint: string, req: V2Request): Promise<V2Reply> {
    const query = req.query && [...req.query].length > 0 ? `?${req.query.toString()}` : '';
    const url = new URL(`/v2/keys${req.keyPath}${query}`, endpoint);
    const body = req.form ? req.form.toString() : undefined;
    const secure = url.protocol === 'https:';
    const headers: http.OutgoingHttpHeaders = body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) };
    return new Promise((resolve, reject) => {
      const out = (secure ? https : http).request(url, {
        method: req.method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
        ...(req.signal ? { signal: req.signal } : {}),
        ...(req.longPoll ? {} : { timeout: this.requestTimeoutMs }),
      });
      out.on('timeout', () => out.destroy(Object.assign(new Error(`no answer within ${this.requestTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
      out.on('error', reject);
      out.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 502,
            etcdIndex: header(res.headers['x-etcd-index']),
            contentType: header(res.headers['content-type']),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      });
      out.end(body);
    });
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
