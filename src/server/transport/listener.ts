// Listens on --listen-peer-urls and hands every connection to the gRPC server
// (through a connection injector, as the client listener does, so that HTTP
// endpoints such as /members or /version can later share the port by sniffing the
// first bytes). Host names are resolved as the client listener resolves them.

import type * as grpc from '@grpc/grpc-js';
import * as net from 'node:net';
import { resolveHost } from '../client-listener.js';

export interface PeerListener {
  /** host:port actually bound (the real port when the URL said 0). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function listenPeers(urls: URL[], injector: grpc.ConnectionInjector): Promise<PeerListener[]> {
  const out: PeerListener[] = [];
  try {
    for (const url of urls) out.push(await listenOne(url, injector));
  } catch (err) {
    await Promise.all(out.map((l) => l.close()));
    throw err;
  }
  return out;
}

async function listenOne(url: URL, injector: grpc.ConnectionInjector): Promise<PeerListener> {
  if (url.protocol !== 'http:') {
    throw new Error(`peer URL ${url.href}: only http:// peer URLs are supported (no TLS yet)`);
  }
  const host = await resolveHost(url.hostname);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('error', () => socket.destroy());
    socket.setNoDelay(true);
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: Number(url.port || 2380) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
