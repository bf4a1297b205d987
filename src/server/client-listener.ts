// One client port for gRPC and plain HTTP, as etcd serves both on 2379: the first
// bytes of a connection tell them apart (HTTP/2's preface starts with "PRI"), and
// the socket is handed to gRPC or to the HTTP server accordingly.

import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import * as net from 'node:net';
import { lookup } from 'node:dns/promises';
import { holdForFirstRequest } from './h2/first-request.js';

const H2_PREFACE_START = Buffer.from('PRI');

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
}

/** Classifying needs 3 bytes; a client that cannot send them in this long is not a client. */
const FIRST_BYTES_TIMEOUT_MS = 5_000;
/** An HTTP client must have sent its first request's headers by then. */
const HTTP_FIRST_REQUEST_TIMEOUT_MS = 10_000;

export async function listenClients(
  urls: URL[],
  grpcServer: grpc.Server,
  httpHandler: http.RequestListener,
  opts: ClientListenerOptions = {},
): Promise<ClientListener[]> {
  const firstBytesTimeoutMs = opts.firstBytesTimeoutMs ?? FIRST_BYTES_TIMEOUT_MS;
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const httpServer = http.createServer(httpHandler);
  httpServer.keepAliveTimeout = 30_000;
  // Node enforces headersTimeout only for servers that listen themselves; ours gets
  // its connections injected, so the first request's deadline is ours to keep.
  const httpFirstRequest = new WeakMap<net.Socket, NodeJS.Timeout>();
  httpServer.on('request', (req: http.IncomingMessage) => {
    const socket = req.socket as net.Socket;
    clearTimeout(httpFirstRequest.get(socket));
    httpFirstRequest.delete(socket);
  });
  const httpFirstRequestMs = opts.firstRequestTimeoutMs ?? HTTP_FIRST_REQUEST_TIMEOUT_MS;
  const listeners: ClientListener[] = [];
  for (const url of urls) {
    const host = await resolveHost(url.hostname);
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.setNoDelay(true);
      route(socket, firstBytesTimeoutMs, (isH2, seen) => {
        if (isH2) {
          holdForFirstRequest(socket, seen, () => injector.injectConnection(socket), {
            timeoutMs: opts.firstRequestTimeoutMs,
          });
        }
        else {
          const timer = setTimeout(() => socket.destroy(), httpFirstRequestMs);
          timer.unref();
          httpFirstRequest.set(socket, timer);
          socket.once('close', () => clearTimeout(timer));
          socket.pause();
          socket.unshift(seen);
          httpServer.emit('connection', socket);
          socket.resume();
        }
      });
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

/**
 * Waits for enough bytes to classify the connection; hands them over with it. A
 * connection that does not send them within timeoutMs is closed (it would otherwise
 * hold a socket, and the memory behind it, forever).
 */
function route(socket: net.Socket, timeoutMs: number, handoff: (isH2: boolean, seen: Buffer) => void): void {
  let seen = Buffer.alloc(0);
  const timer = setTimeout(() => {
    socket.off('data', onData);
    socket.destroy();
  }, timeoutMs);
  timer.unref();
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk]);
    if (seen.length < H2_PREFACE_START.length && seen.equals(H2_PREFACE_START.subarray(0, seen.length))) return;
    clearTimeout(timer);
    socket.off('data', onData);
    handoff(seen.subarray(0, 3).equals(H2_PREFACE_START), seen);
  };
  socket.on('data', onData);
  socket.once('close', () => clearTimeout(timer));
  socket.once('error', () => socket.destroy());
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
