// One client port for gRPC and plain HTTP, as etcd serves both on 2379: the first
// bytes of a connection tell them apart (first-bytes.ts), and the socket is handed
// to gRPC or to the HTTP server accordingly.

import type * as http from 'node:http';
import * as net from 'node:net';
import { lookup } from 'node:dns/promises';
import { FIRST_BYTES_TIMEOUT_MS, Http1Acceptor, route } from './first-bytes.js';
import { holdForFirstRequest } from './h2/first-request.js';
import { listenServerFor } from './tls/listen-server.js';
import type { TlsAcceptor } from './tls/tls-accept.js';

export interface ClientListener {
  address: string;
  /** A --listen-metrics-urls listener (metrics-listener.ts). */
  metrics?: boolean;
  close(): Promise<void>;
}

export interface ClientListenerOptions {
  /** A connection that has not sent enough bytes to be classified by then is closed. */
  firstBytesTimeoutMs?: number;
  /**
   * An HTTP/2 connection whose preface is not complete by then is closed
   * (first-request.ts); an HTTP/1 one whose first request's headers are not.
   */
  firstRequestTimeoutMs?: number;
  /** Terminates TLS on https:// URLs (the client TLS flags); without it they are refused. */
  acceptor?: TlsAcceptor;
}

/** Where HTTP/2 connections go (grpc/server.ts's GrpcServer). */
export interface H2Acceptor {
  /**
   * `seen`: bytes already read from the socket (else put back on it). With
   * acceptsAnyAuthority, a client whose preface is not in by prefaceTimeoutMs is closed.
   */
  accept(socket: net.Socket, seen?: Buffer, prefaceTimeoutMs?: number): void;
  /** True: no :authority repair needed (our own HTTP/2 layer), the socket goes over at once. */
  readonly acceptsAnyAuthority?: boolean;
}

export async function listenClients(
  urls: URL[],
  grpcServer: H2Acceptor,
  httpHandler: http.RequestListener,
  opts: ClientListenerOptions = {},
): Promise<ClientListener[]> {
  const firstBytesTimeoutMs = opts.firstBytesTimeoutMs ?? FIRST_BYTES_TIMEOUT_MS;
  const http1 = new Http1Acceptor(httpHandler, opts.firstRequestTimeoutMs);
  const listeners: ClientListener[] = [];
  for (const url of urls) {
    const host = await resolveHost(url.hostname);
    const sockets = new Set<net.Socket>();
    const server = listenServerFor(url, opts.acceptor, (socket) => {
      socket.setNoDelay(true);
      route(socket, firstBytesTimeoutMs, (isH2, seen) => {
        if (isH2 && grpcServer.acceptsAnyAuthority) grpcServer.accept(socket, seen, opts.firstRequestTimeoutMs);
        else if (isH2) {
          holdForFirstRequest(socket, seen, () => grpcServer.accept(socket), {
            timeoutMs: opts.firstRequestTimeoutMs,
          });
        }
        else http1.accept(socket, seen);
      });
    });
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: Number(url.port), backlog: 1024 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    listeners.push({
      address: `${host}:${(server.address() as net.AddressInfo).port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        }),
    });
  }
  return listeners;
}

/** URLs may name hosts (http://localhost:2379): listen on what the name resolves to. */
export async function resolveHost(hostname: string): Promise<string> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(bare)) return bare;
  // IPv4 first, so "localhost" means 127.0.0.1 even where ::1 is listed first
  // (clients such as etcdctl default to 127.0.0.1:2379).
  try {
    return (await lookup(bare, { family: 4 })).address;
  } catch {
    return (await lookup(bare)).address;
  }
}
