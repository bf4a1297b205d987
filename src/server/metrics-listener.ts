// --listen-metrics-urls: listeners that serve /metrics and /health (etcd's embed
// serveMetrics), apart from the client port; https:// ones with the client TLS
// material, as etcd serves them.

import type * as http from 'node:http';
import type * as net from 'node:net';
import { resolveHost, type ClientListener } from './client-listener.js';
import { Http1Acceptor } from './first-bytes.js';
import { listenServerFor } from './tls/listen-server.js';
import type { TlsAcceptor } from './tls/tls-accept.js';

export async function listenMetrics(urls: URL[], handler: http.RequestListener, acceptor?: TlsAcceptor): Promise<ClientListener[]> {
  const out: ClientListener[] = [];
  const http1 = new Http1Acceptor(handler);
  for (const url of urls) {
    const host = await resolveHost(url.hostname);
    const sockets = new Set<net.Socket>();
    const server = listenServerFor(url, acceptor, (socket) => http1.accept(socket, Buffer.alloc(0)));
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
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
          for (const s of sockets) s.destroy();
        }),
    });
  }
  return out;
}
