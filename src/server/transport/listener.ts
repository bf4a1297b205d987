// Listens on --listen-peer-urls. The first bytes of each connection decide where it
// goes (first-bytes.ts, shared with the client listener): an HTTP/2 preface → the
// gRPC peer server (snapshots, lease and membership calls), through a connection
// injector (every call is admitted there, receiver.ts); anything else → HTTP/1.1:
// an upgrade request is the Raft message stream (stream-inbound.ts), other
// requests go to peer-http.ts (/version, /members, as etcd serves them on 2380).
// Host names are resolved as the client listener resolves them.

import type * as grpc from '@grpc/grpc-js';
import type * as http from 'node:http';
import * as net from 'node:net';
import { resolveHost } from '../client-listener.js';
import { FIRST_BYTES_TIMEOUT_MS, Http1Acceptor, route } from '../first-bytes.js';
import { listenServerFor } from '../tls/listen-server.js';
import type { TlsAcceptor } from '../tls/tls-accept.js';

export interface PeerListener {
  /** host:port actually bound (the real port when the URL said 0). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface PeerListenerOptions {
  /** A connection that has not sent enough bytes to be classified by then is closed. */
  firstBytesTimeoutMs?: number;
  /** An HTTP/1 connection whose first request's headers are not in by then is closed. */
  firstRequestTimeoutMs?: number;
  /** Terminates TLS on https:// URLs (peer TLS); without it they are refused. */
  acceptor?: TlsAcceptor;
}

export async function listenPeers(
  urls: URL[],
  injector: grpc.ConnectionInjector,
  httpHandler: http.RequestListener,
  upgradeHandler: (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void,
  opts: PeerListenerOptions = {},
): Promise<PeerListener[]> {
  const http1 = new Http1Acceptor(httpHandler, opts.firstRequestTimeoutMs);
  http1.onUpgrade(upgradeHandler);
  const out: PeerListener[] = [];
  try {
    for (const url of urls) out.push(await listenOne(url, injector, http1, opts.firstBytesTimeoutMs ?? FIRST_BYTES_TIMEOUT_MS, opts.acceptor));
  } catch (err) {
    await Promise.all(out.map((l) => l.close()));
    throw err;
  }
  return out;
}

async function listenOne(
  url: URL,
  injector: grpc.ConnectionInjector,
  http1: Http1Acceptor,
  firstBytesTimeoutMs: number,
  acceptor: TlsAcceptor | undefined,
): Promise<PeerListener> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`peer URL ${url.href}: the scheme must be http or https`);
  const host = await resolveHost(url.hostname);
  const sockets = new Set<net.Socket>();
  const server = listenServerFor(url, acceptor, (socket) => {
    socket.setNoDelay(true);
    route(socket, firstBytesTimeoutMs, (isH2, seen) => {
      if (!isH2) return http1.accept(socket, seen);
      socket.pause();
      socket.unshift(seen);
      injector.injectConnection(socket);
    });
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
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
