// The members' client URLs a proxy forwards to, with etcd's httpproxy rules: the
// list is shuffled when refreshed (so proxies do not all pile onto one member),
// an endpoint that fails is skipped for --proxy-failure-wait, and connections
// take the available endpoints in turn.

export interface Endpoint {
  url: string;
  host: string;
  port: number;
  /** Skipped until this time (ms since the epoch) after a failure. */
  failedUntil: number;
}

export class ProxyEndpoints {
  private list: Endpoint[] = [];
  private turn = 0;

  constructor(
    private readonly failureWaitMs: number,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Replaces the list (a refresh); an endpoint kept from before keeps its failure mark. */
  set(clientUrls: string[]): void {
    const before = new Map(this.list.map((e) => [e.url, e]));
    const next: Endpoint[] = [];
    for (const url of new Set(clientUrls)) {
      const old = before.get(url);
      if (old) {
        next.push(old);
        continue;
      }
      const u = parseEndpoint(url);
      if (u) next.push({ url, ...u, failedUntil: 0 });
    }
    for (let i = next.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [next[i], next[j]] = [next[j]!, next[i]!];
    }
    this.list = next;
  }

  urls(): string[] {
    return this.list.map((e) => e.url);
  }

  /** The endpoints to try for one connection, in order: available ones only, starting at the next turn. */
  candidates(): Endpoint[] {
    const now = this.now();
    const up = this.list.filter((e) => e.failedUntil <= now);
    if (up.length === 0) return [];
    const start = this.turn++ % up.length;
    return [...up.slice(start), ...up.slice(0, start)];
  }

  markFailed(ep: Endpoint): void {
    ep.failedUntil = this.now() + this.failureWaitMs;
  }
}

function parseEndpoint(url: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
  } catch {
    return undefined;
  }
}
