// A client of the Lock and Election services (and the few Lease and KV calls
// their tests need) through the /v3 JSON gateway, with node's fetch: bytes go
// base64, int64 go as decimal strings, errors come back as {"error","code"},
// and Observe is a chunked stream of {"result":...} lines.

/** A LeaderKey as the gateway writes it (bytes base64, int64 as strings). */
export interface JsonLeaderKey {
  name: string;
  key: string;
  rev: string;
  lease: string;
}

interface JsonKv {
  key: string;
  value?: string;
  mod_revision?: string;
}

interface JsonHeader {
  revision: string;
}

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString();

export interface JsonObservation {
  key: string;
  value: string;
  revision: bigint;
}

export class RecipeHttpClient {
  constructor(private readonly clientPort: number) {}

  /** POSTs `body` to `path` and returns the JSON answer; a non-200 answer throws a GatewayError. */
  async post<T>(path: string, body: unknown, timeoutMs = 10_000): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.clientPort}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status !== 200) {
      const err = JSON.parse(text) as { message?: string; code?: number };
      throw new GatewayError(res.status, err.code, err.message ?? text);
    }
    return JSON.parse(text) as T;
  }

  async grant(ttlSec: number): Promise<bigint> {
    return BigInt((await this.post<{ ID: string }>('/v3/lease/grant', { TTL: ttlSec })).ID);
  }

  /** The key the lock is held under (decoded). */
  async lock(name: string, lease: bigint, timeoutMs?: number): Promise<string> {
    return unb64((await this.post<{ key: string }>('/v3/lock/lock', { name: b64(name), lease: lease.toString() }, timeoutMs)).key);
  }

  async unlock(key: string): Promise<void> {
    await this.post('/v3/lock/unlock', { key: b64(key) });
  }

  async campaign(name: string, lease: bigint, value: string, timeoutMs?: number): Promise<JsonLeaderKey> {
    const body = { name: b64(name), lease: lease.toString(), value: b64(value) };
    return (await this.post<{ leader: JsonLeaderKey }>('/v3/election/campaign', body, timeoutMs)).leader;
  }

  async proclaim(leader: JsonLeaderKey, value: string): Promise<void> {
    await this.post('/v3/election/proclaim', { leader, value: b64(value) });
  }

  /** The leader's key and value (decoded). */
  async leader(name: string): Promise<{ key: string; value: string }> {
    const { kv } = await this.post<{ kv: JsonKv }>('/v3/election/leader', { name: b64(name) });
    return { key: unb64(kv.key), value: unb64(kv.value) };
  }

  async resign(leader: JsonLeaderKey): Promise<void> {
    await this.post('/v3/election/resign', { leader });
  }

  async get(key: string): Promise<string | undefined> {
    const { kvs } = await this.post<{ kvs?: JsonKv[] }>('/v3/kv/range', { key: b64(key) });
    return kvs?.[0] ? unb64(kvs[0].value) : undefined;
  }

  async put(key: string, value: string): Promise<void> {
    await this.post('/v3/kv/put', { key: b64(key), value: b64(value) });
  }

  /**
   * Starts /v3/election/observe; `observations` fills line by line as they
   * arrive; `ended` settles when the stream ends (or is cancelled).
   */
  observe(name: string): { observations: JsonObservation[]; ended: Promise<void>; cancel(): void } {
    const ctl = new AbortController();
    const observations: JsonObservation[] = [];
    const ended = (async () => {
      const res = await fetch(`http://127.0.0.1:${this.clientPort}/v3/election/observe`, {
        method: 'POST',
        body: JSON.stringify({ name: b64(name) }),
        signal: ctl.signal,
      });
      if (res.status !== 200) throw new GatewayError(res.status, undefined, await res.text());
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body!) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const line of lines.filter((l) => l !== '')) {
          const { result } = JSON.parse(line) as { result: { header: JsonHeader; kv: JsonKv } };
          observations.push({ key: unb64(result.kv.key), value: unb64(result.kv.value), revision: BigInt(result.header.revision) });
        }
      }
    })().catch((e: unknown) => {
      if (!ctl.signal.aborted) throw e;
    });
    return { observations, ended, cancel: () => ctl.abort() };
  }
}
