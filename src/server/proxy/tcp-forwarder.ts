// The proxy's data path: every connection on a client listen URL is spliced, byte
// for byte, to one member's client URL (like `etcd gateway`), so gRPC, the /v3
// JSON gateway, /v2, /health and TLS (passed through) all work unchanged. A
// member that does not accept the connection within --proxy-dial-timeout is
// marked failed and the next one is tried.

import * as net from 'node:net';
import type { Logger } from 'pino';
import type { Endpoint, ProxyEndpoints } from './endpoints.js';

export class TcpForwarder {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly endpoints: ProxyEndpoints,
    private readonly dialTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Listens on host:port of each URL; resolves with the bound addresses. */
  async listen(urls: URL[]): Promise<string[]> {
    const out: string[] = [];
    for (const u of urls) {
      // Half-open both ways: a client that shuts down its sending side still gets the answer.
      // No Nagle: small gRPC frames held back for an ACK cost ~40 ms per request (measured).
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => void this.forward(client));
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(u.port), u.hostname.replace(/^\[|\]$/g, ''), () => {
          server.off('error', reject);
          resolve();
        });
      });
      out.push(`${u.protocol}//${u.host}`);
    }
    return out;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private async forward(client: net.Socket): Promise<void> {
    this.track(client);
    client.on('error', () => client.destroy());
    // Bytes the client sends meanwhile wait in its (paused) stream.
    for (const ep of this.endpoints.candidates()) {
      if (client.destroyed) return;
      const upstream = await this.dial(ep);
      if (!upstream) continue;
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      this.track(upstream);
      // pipe() carries each side's end to the other; a side that fails takes the other down.
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', (hadError) => (hadError ? client.destroy() : client.end()));
      client.on('close', (hadError) => (hadError ? upstream.destroy() : upstream.end()));
      client.pipe(upstream);
      upstream.pipe(client);
      return;
    }
    this.logger.warn({ remote: client.remoteAddress }, 'proxy: zero endpoints currently available');
    client.destroy();
  }

  private dial(ep: Endpoint): Promise<net.Socket | undefined> {
    return new Promise((resolve) => {
      const s = net.connect({ host: ep.host, port: ep.port, allowHalfOpen: true, noDelay: true });
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        s.destroy();
        this.endpoints.markFailed(ep);
        this.logger.warn({ endpoint: ep.url, error: why }, 'proxy: failed to direct connection to endpoint; marked unavailable');
        resolve(undefined);
      };
      // 0: no dial timeout (Go's net.Dialer with Timeout 0).
      const timer = this.dialTimeoutMs > 0 ? setTimeout(() => fail(`dial timeout after ${this.dialTimeoutMs} ms`), this.dialTimeoutMs) : undefined;
      s.on('error', (err) => {
        clearTimeout(timer);
        fail(err.message);
      });
      s.once('connect', () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        resolve(s);
      });
    });
  }
}
