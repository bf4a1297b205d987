// One port, two protocols, as etcd serves gRPC and plain HTTP on 2379 and Raft plus
// /version and /members on 2380: the first bytes of a connection tell them apart
// (HTTP/2's preface starts with "PRI"). Used by the client listener and the peer
// listener alike: route() classifies, Http1Acceptor hands the rest to an HTTP/1
// server with a deadline on its first request. On https:// URLs the sockets are
// already decrypted (tls/tls-accept.ts) and everything here works unchanged.

import * as http from 'node:http';
import type * as net from 'node:net';

const H2_PREFACE_START = Buffer.from('PRI');

/** Classifying needs 3 bytes; a client that cannot send them in this long is not a client. */
export const FIRST_BYTES_TIMEOUT_MS = 5_000;
/** An HTTP client must have sent its first request's headers by then. */
export const HTTP_FIRST_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Waits for enough bytes to classify the connection; hands them over with it
 * (isH2: the bytes start an HTTP/2 preface). A connection that does not send them
 * within timeoutMs is closed (it would otherwise hold a socket, and the memory
 * behind it, forever).
 */
export function route(socket: net.Socket, timeoutMs: number, handoff: (isH2: boolean, seen: Buffer) => void): void {
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
    const isH2 = seen.subarray(0, 3).equals(H2_PREFACE_START);
    // Over TLS, the bytes decide too: Node's HTTP/2 server refuses a TLS socket
    // whose ALPN did not say h2 (a client that sent no ALPN, or http/1.1 first).
    if (isH2 && 'alpnProtocol' in socket && socket.alpnProtocol !== 'h2') (socket as { alpnProtocol: unknown }).alpnProtocol = 'h2';
    handoff(isH2, seen);
  };
  socket.on('data', onData);
  socket.once('close', () => clearTimeout(timer));
  socket.once('error', () => socket.destroy());
}

/**
 * An HTTP/1 server fed with sockets route() classified as not HTTP/2. Node
 * enforces headersTimeout only for servers that listen themselves; ours gets its
 * connections injected, so the first request's deadline is ours to keep.
 */
export class Http1Acceptor {
  readonly server: http.Server;
  private readonly firstRequest = new WeakMap<net.Socket, NodeJS.Timeout>();

  constructor(
    handler: http.RequestListener,
    private readonly firstRequestTimeoutMs = HTTP_FIRST_REQUEST_TIMEOUT_MS,
  ) {
    this.server = http.createServer(handler);
    this.server.keepAliveTimeout = 30_000;
    this.server.on('request', (req: http.IncomingMessage) => {
      const socket = req.socket as net.Socket;
      clearTimeout(this.firstRequest.get(socket));
      this.firstRequest.delete(socket);
    });
  }

  /**
   * Serves HTTP/1.1 upgrade requests (the peer port's Raft message stream) with
   * `handler`, which owns the socket from then on. Without it Node refuses them.
   */
  onUpgrade(handler: (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void): void {
    this.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      clearTimeout(this.firstRequest.get(socket));
      this.firstRequest.delete(socket);
      handler(req, socket, head);
    });
  }

  /** Takes over a socket, with the bytes route() read from it put back. */
  accept(socket: net.Socket, seen: Buffer): void {
    const timer = setTimeout(() => socket.destroy(), this.firstRequestTimeoutMs);
    timer.unref();
    this.firstRequest.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
    socket.pause();
    socket.unshift(seen);
    this.server.emit('connection', socket);
    socket.resume();
  }
}
