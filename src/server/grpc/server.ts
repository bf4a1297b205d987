// A lean gRPC server on node:http2 for the client port. Connections come from
// the client listener (which sniffs HTTP/1 from HTTP/2 on one port) through
// accept(); each HTTP/2 stream is a call (call.ts) routed by its :path.
//
// Per connection it keeps the keepalive rules etcd sets on grpc-go: server
// pings every --grpc-keepalive-interval, closing the connection when one is
// not answered within --grpc-keepalive-timeout, and a client pinging more
// often than --grpc-keepalive-min-time is told to go away (ping-policy.ts).
// --max-concurrent-streams is the HTTP/2 setting. close() sends GOAWAY, lets
// the unary calls in flight finish (bounded), then closes the connections.

import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { ServerCall, trailersOnly, type CallConnection } from './call.js';
import { parseGrpcTimeout } from './deadline.js';
import { PingPolicy } from './ping-policy.js';
import { Status, type StatusError } from './status.js';
import type { Handler, MethodDefinition, ServiceDefinition, ServiceImplementation } from './types.js';

export interface GrpcServerOptions {
  /** Largest request message accepted (bytes, without the 5-byte prefix). */
  maxReceiveBytes: number;
  /** --max-concurrent-streams (default: HTTP/2's maximum). */
  maxConcurrentStreams?: number;
  /** --grpc-keepalive-min-time (default 5 s). */
  keepaliveMinTimeMs?: number;
  /** --grpc-keepalive-interval: server pings (0: none; default 2 h). */
  keepaliveIntervalMs?: number;
  /** --grpc-keepalive-timeout (default 20 s; 0: pings are not waited for). */
  keepaliveTimeoutMs?: number;
}

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_CANCEL, NGHTTP2_PROTOCOL_ERROR } = http2.constants;
const TOO_MANY_PINGS = Buffer.from('too_many_pings');
/** grpc-go's status for calls on a connection that is going away. */
const TRANSPORT_CLOSING: StatusError = { code: Status.UNAVAILABLE, details: 'transport is closing' };
const MAX_STREAMS = 2 ** 32 - 1;
const ignore = (): void => {};
/** How long close() lets unary calls in flight finish before closing their connections. */
export const SHUTDOWN_GRACE_MS = 2000;

interface Route {
  method: MethodDefinition;
  handler: Handler;
}

class Connection implements CallConnection {
  readonly peer: string;
  readonly calls = new Set<ServerCall>();
  /** The highest stream id the client opened (for GOAWAY). */
  lastStreamId = 0;
  private readonly pings: PingPolicy;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(
    readonly session: http2.ServerHttp2Session,
    private readonly opts: GrpcServerOptions,
    /** The socket accept() was given (session.socket is a proxy of it, not the same object). */
    readonly socket: object | undefined,
  ) {
    const s = session.socket as net.Socket | undefined;
    this.peer = `${s?.remoteAddress ?? ''}:${s?.remotePort ?? 0}`;
    this.pings = new PingPolicy(opts.keepaliveMinTimeMs ?? 5000);
    session.on('ping', () => {
      if (this.pings.onPing(this.calls.size, Date.now())) this.tooManyPings();
    });
    const interval = opts.keepaliveIntervalMs ?? 2 * 3_600_000;
    if (interval > 0) this.scheduleKeepalive(interval);
  }

  sentData(): void {
    this.pings.sentData();
  }

  callEnded(call: ServerCall): void {
    this.calls.delete(call);
    if (this.draining && !this.hasUnaryInFlight()) this.endStreams();
  }

  hasUnaryInFlight(): boolean {
    for (const c of this.calls) if (!c.streaming) return true;
    return false;
  }

  private tooManyPings(): void {
    if (this.session.destroyed) return;
    // As grpc-go: the last stream id is the highest the client opened.
    this.session.goaway(NGHTTP2_ENHANCE_YOUR_CALM, this.lastStreamId, TOO_MANY_PINGS);
    // grpc-go closes the connection with the GOAWAY: let it go out first.
    setImmediate(() => this.session.destroy());
  }

  private scheduleKeepalive(interval: number): void {
    this.keepaliveTimer = setTimeout(() => {
      if (this.session.destroyed) return;
      const timeoutMs = this.opts.keepaliveTimeoutMs ?? 20_000;
      let answered = false;
      const timeout = timeoutMs > 0
        ? setTimeout(() => {
            if (!answered) this.session.destroy();
          }, timeoutMs).unref()
        : undefined;
      let sent = false;
      try {
        sent = this.session.ping((err) => {
          answered = true;
          clearTimeout(timeout);
          if (err) this.session.destroy();
          else this.scheduleKeepalive(interval);
        });
      } catch {
        sent = false;
      }
      if (!sent) {
        clearTimeout(timeout);
        this.session.destroy();
      }
    }, interval).unref();
  }

  /**
   * GOAWAY now (no new calls); once no unary call is in flight, the streams
   * end with UNAVAILABLE, which clients retry elsewhere (etcd's clients see
   * the same code when its connections close). Node closes the connection
   * when its last stream is done, after everything was sent.
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    if (this.session.destroyed) return;
    this.session.close();
    if (!this.hasUnaryInFlight()) this.endStreams();
  }

  private endStreams(): void {
    for (const c of [...this.calls]) c.fail(TRANSPORT_CLOSING);
  }

  dispose(): void {
    clearTimeout(this.keepaliveTimer);
  }
}

const CONNECTION = Symbol('etcd-ts.grpc.connection');
type Session = http2.ServerHttp2Session & { [CONNECTION]?: Connection };

export class GrpcServer {
  private readonly routes = new Map<string, Route>();
  /** Fully qualified names of the services with at least one method ("etcdserverpb.KV"). */
  private readonly services = new Set<string>();
  private readonly h2: http2.Http2Server;
  private readonly connections = new Set<Connection>();
  private closing = false;
  /** The socket being handed to the HTTP/2 server: its session is created synchronously. */
  private accepting: net.Socket | undefined;

  constructor(private readonly opts: GrpcServerOptions) {
    this.h2 = http2.createServer({
      settings: { maxConcurrentStreams: Math.min(opts.maxConcurrentStreams ?? MAX_STREAMS, MAX_STREAMS) },
      // Node's per-session memory bound resets streams under load, as grpc-js found: off.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
    });
    this.h2.on('session', (session: Session) => this.onSession(session));
    this.h2.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  /** Registers every method of a service; methods without a handler answer UNIMPLEMENTED (unknown method). */
  addService(def: ServiceDefinition, impl: ServiceImplementation): void {
    for (const [name, method] of Object.entries(def)) {
      const handler = impl[name];
      if (!handler) continue;
      this.routes.set(method.path, { method, handler });
      this.services.add(method.path.slice(1, method.path.lastIndexOf('/')));
    }
  }

  /** The method and handler a call to `path` ("/etcdserverpb.KV/Range") reaches (the JSON gateway calls them too). */
  route(path: string): Route | undefined {
    return this.routes.get(path);
  }

  /** Takes over an HTTP/2 connection (its preface may have been put back with unshift). */
  accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.accepting = socket;
    try {
      this.h2.emit('connection', socket);
    } finally {
      this.accepting = undefined;
    }
  }

  private onSession(session: Session): void {
    const conn = new Connection(session, this.opts, this.accepting);
    session[CONNECTION] = conn;
    this.connections.add(conn);
    session.on('error', ignore); // a broken connection: its calls see 'close'
    session.once('close', () => {
      conn.dispose();
      this.connections.delete(conn);
    });
    if (this.closing) conn.drain();
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', ignore); // a reset stream: 'close' follows and ends the call
    const conn = (stream.session as Session | undefined)?.[CONNECTION];
    if (!conn) {
      stream.close(NGHTTP2_CANCEL);
      return;
    }
    const route = this.routes.get(headers[':path'] ?? '');
    const timeout = headers['grpc-timeout'];
    const timeoutMs = timeout === undefined ? Infinity : parseGrpcTimeout(timeout as string);
    if (route && !validTransportHeaders(headers, timeoutMs)) {
      // grpc-go resets such a stream (PROTOCOL_ERROR) without a status.
      stream.close(NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    const refusal = route ? unsupportedEncoding(headers) : this.unknownMethod(headers[':path'] ?? '');
    if (refusal || !route) {
      trailersOnly(stream, refusal!);
      stream.resume(); // drop whatever the client sends
      return;
    }
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs!;
    const call = new ServerCall(stream, headers, route.method, route.handler, conn, this.opts.maxReceiveBytes, deadline);
    conn.calls.add(call);
    conn.lastStreamId = Math.max(conn.lastStreamId, stream.id ?? 0);
  }

  /** grpc-go's answer to a path no service has. */
  private unknownMethod(path: string): StatusError {
    const slash = path.lastIndexOf('/');
    // ResourceExhausted is grpc-go's (and so etcd's) code for this one.
    if (!path.startsWith('/') || slash <= 0) return { code: Status.RESOURCE_EXHAUSTED, details: `malformed method name: ${JSON.stringify(path)}` };
    const service = path.slice(1, slash);
    if (!this.services.has(service)) return { code: Status.UNIMPLEMENTED, details: `unknown service ${service}` };
    return { code: Status.UNIMPLEMENTED, details: `unknown method ${path.slice(slash + 1)} for service ${service}` };
  }

  /**
   * Graceful stop: GOAWAY on every connection, unary calls in flight may finish
   * within graceMs, then every connection is closed (streams are cancelled).
   */
  async close(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    this.closing = true;
    for (const c of this.connections) c.drain();
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const c of this.connections) c.session.destroy();
    this.connections.clear();
  }
}

function isGrpcContentType(ct: string | undefined): boolean {
  if (ct === 'application/grpc') return true;
  if (ct === undefined || !ct.startsWith('application/grpc')) return false;
  const next = ct[16];
  return next === '+' || next === ';';
}

/** A gRPC content-type and a well-formed grpc-timeout (if any). */
function validTransportHeaders(headers: http2.IncomingHttpHeaders, timeoutMs: number | undefined): boolean {
  return timeoutMs !== undefined && isGrpcContentType(headers['content-type']);
}

/** We decompress nothing: a request under another grpc-encoding gets grpc-go's refusal. */
function unsupportedEncoding(headers: http2.IncomingHttpHeaders): StatusError | undefined {
  const encoding = headers['grpc-encoding'];
  if (encoding === undefined || encoding === 'identity') return undefined;
  return { code: Status.UNIMPLEMENTED, details: `grpc: Decompressor is not installed for grpc-encoding ${JSON.stringify(encoding)}` };
}
