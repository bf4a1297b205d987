// --listen-metrics-urls: plain HTTP listeners that serve /metrics and /health
// (etcd's embed serveMetrics), apart from the client port.

import * as http from 'node:http';
import type * as net from 'node:net';
import { resolveHost, type ClientListener } from './client-listener.js';

export async function listenMetrics(urls: URL[], handler: http.RequestListener): Promise<ClientListener[]> {
  const out: ClientListener[] = [];
  for (const url of urls) {
    const host = await resolveHost(url.hostname);
    const server = http.createServer(handler);
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: Number(url.port) }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    out.push({
      address: `${host}:${(server.address() as net.AddressInfo).port}`,
      metrics: true,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    });
  }
  return out;
}
