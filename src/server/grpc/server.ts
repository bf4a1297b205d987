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
//
// Two HTTP/2 layers can carry the calls: our own (src/server/h2, the default)
// and Node's (node:http2), chosen by ETCD_TS_CLIENT_H2=own|node, read once.
// The calls see neither: each stream is a GrpcStream (stream-port.ts).

import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { H2Connection } from '../h2/connection.js';
import { ServerCall, type CallConnection } from './call.js';
import { parseGrpcTimeout } from './deadline.js';
import { NodeGrpcStream } from './node-stream.js';
import { PingPolicy } from './ping-policy.js';
import { Status, statusTrailers, type StatusError } from './status.js';
import type { GrpcStream, RequestHeaders } from './stream-port.js';
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
  /** The HTTP/2 layer (default: ETCD_TS_CLIENT_H2, else our own). */
  h2?: H2Implementation;
}

export type H2Implementation = 'node' | 'own';
/** ETCD_TS_CLIENT_H2=own|node: which HTTP/2 layer the client port's gRPC runs on. */
export const CLIENT_H2: H2Implementation = process.env.ETCD_TS_CLIENT_H2 === 'node' ? 'node' : 'own';

/** What a connection needs of its HTTP/2 session (Node's ServerHttp2Session and our H2Connection both fit). */
interface GrpcSession {
  readonly destroyed: boolean;
  goaway(code: number, lastStreamId: number, debug?: Buffer): void;
  ping(cb: (err: Error | null) => void): boolean;
  /** Graceful: GOAWAY, the connection closes once its streams have. */
  close(): void;
  destroy(): void;
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
    readonly session: GrpcSession,
    private readonly opts: GrpcServerOptions,
    /** The socket accept() was given (Node's session.socket is a proxy of it, not the same object). */
    readonly socket: net.Socket | undefined,
    /** See onClientPing (Node's layer). */
    private readonly forgivesWhileResponding = false,
  ) {
    this.peer = `${socket?.remoteAddress ?? ''}:${socket?.remotePort ?? 0}`;
    this.pings = new PingPolicy(opts.keepaliveMinTimeMs ?? 5000);
    const interval = opts.keepaliveIntervalMs ?? 2 * 3_600_000;
    if (interval > 0) this.scheduleKeepalive(interval);
  }

  sentData(): void {
    this.pings.sentData();
  }

  /**
   * A PING from the client. grpc-go forgives the next ping after every DATA
   * frame it writes (a client's BDP pings follow a large response's frames);
   * Node's HTTP/2 layer does not say when it writes one, so a response still
   * going out counts as data sent (our own layer reports each frame).
   */
  onClientPing(): void {
    if (this.forgivesWhileResponding) {
      for (const c of this.calls) {
        if (c.responding) {
          this.pings.sentData();
          break;
        }
      }
    }
    if (this.pings.onPing(this.calls.size, Date.now())) this.tooManyPings();
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
  /** Node's HTTP/2 server (when it is the layer in use). */
  private readonly h2: http2.Http2Server | undefined;
  private readonly connections = new Set<Connection>();
  private closing = false;
  /** The socket being handed to the HTTP/2 server: its session is created synchronously. */
  private accepting: net.Socket | undefined;
  readonly implementation: H2Implementation;

  constructor(private readonly opts: GrpcServerOptions) {
    this.implementation = opts.h2 ?? CLIENT_H2;
    if (this.implementation === 'own') return;
    this.h2 = http2.createServer({
      settings: { maxConcurrentStreams: Math.min(opts.maxConcurrentStreams ?? MAX_STREAMS, MAX_STREAMS) },
      // Node's per-session memory bound resets streams under load, as grpc-js found: off.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
    });
    this.h2.on('session', (session: Session) => this.onSession(session));
    this.h2.on('stream', (stream, headers) => this.onNodeStream(stream, headers));
  }

  /**
   * Our own HTTP/2 layer takes any :authority (Go clients send "http://host:port"),
   * so the client listener need not repair the first request (h2/first-request.ts).
   */
  get acceptsAnyAuthority(): boolean {
    return this.implementation === 'own';
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

  /**
   * Takes over an HTTP/2 connection. Node's layer: its preface must have been
   * put back with unshift; ours: the bytes read so far may be passed instead.
   */
  accept(socket: net.Socket, initial?: Buffer, prefaceTimeoutMs?: number): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.implementation === 'own') return this.acceptOwn(socket, initial, prefaceTimeoutMs);
    if (initial !== undefined && initial.length > 0) socket.unshift(initial);
    this.accepting = socket;
    try {
      this.h2!.emit('connection', socket);
    } finally {
      this.accepting = undefined;
    }
  }

  private acceptOwn(socket: net.Socket, initial: Buffer | undefined, prefaceTimeoutMs: number | undefined): void {
    let conn: Connection | undefined;
    const h2 = new H2Connection(socket, {
      maxConcurrentStreams: this.opts.maxConcurrentStreams,
      prefaceTimeoutMs,
      onStream: (stream, headers) => this.onStream(stream, headers, conn!, stream.id),
      onPing: () => conn!.onClientPing(),
      onDataSent: () => conn!.sentData(),
      onClose: () => {
        conn!.dispose();
        this.connections.delete(conn!);
      },
    });
    conn = new Connection(h2, this.opts, socket);
    this.connections.add(conn);
    h2.start(initial);
  }

  private onSession(session: Session): void {
    const conn = new Connection(session, this.opts, this.accepting, true);
    session[CONNECTION] = conn;
    this.connections.add(conn);
    session.on('ping', () => conn.onClientPing());
    session.on('error', ignore); // a broken connection: its calls see 'close'
    session.once('close', () => {
      conn.dispose();
      this.connections.delete(conn);
    });
    if (this.closing) conn.drain();
  }

  private onNodeStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', ignore); // a reset stream: 'close' follows and ends the call
    const conn = (stream.session as Session | undefined)?.[CONNECTION];
    if (!conn) {
      stream.close(NGHTTP2_CANCEL);
      return;
    }
    this.onStream(new NodeGrpcStream(stream), headers, conn, stream.id ?? 0);
  }

  private onStream(stream: GrpcStream, headers: RequestHeaders, conn: Connection, streamId: number): void {
    const path = headers[':path'] as string | undefined;
    const route = this.routes.get(path ?? '');
    const timeout = headers['grpc-timeout'];
    const timeoutMs = timeout === undefined ? Infinity : parseGrpcTimeout(timeout as string);
    if (route && !validTransportHeaders(headers, timeoutMs)) {
      // grpc-go resets such a stream (PROTOCOL_ERROR) without a status.
      stream.reset(NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    const refusal = route ? unsupportedEncoding(headers) : this.unknownMethod(path ?? '');
    if (refusal || !route) {
      // The status at once; whatever the client sends is dropped.
      stream.finish(statusTrailers(refusal!));
      return;
    }
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs!;
    const call = new ServerCall(stream, headers, route.method, route.handler, conn, this.opts.maxReceiveBytes, deadline);
    conn.calls.add(call);
    conn.lastStreamId = Math.max(conn.lastStreamId, streamId);
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
function validTransportHeaders(headers: RequestHeaders, timeoutMs: number | undefined): boolean {
  return timeoutMs !== undefined && isGrpcContentType(headers['content-type'] as string | undefined);
}

/** We decompress nothing: a request under another grpc-encoding gets grpc-go's refusal. */
function unsupportedEncoding(headers: RequestHeaders): StatusError | undefined {
  const encoding = headers['grpc-encoding'];
  if (encoding === undefined || encoding === 'identity') return undefined;
  return { code: Status.UNIMPLEMENTED, details: `grpc: Decompressor is not installed for grpc-encoding ${JSON.stringify(encoding)}` };
}
