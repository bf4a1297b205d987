// What the gRPC server needs to know about a method, and what a handler sees of
// a call: narrow interfaces in the spirit of api/ports.ts, so the services do
// not depend on any gRPC library's types. The names follow grpc-js's where the
// meaning is the same (request, metadata.get, cancelled, write/end, 'data').

import type { StatusError } from './status.js';

export interface MethodDefinition<Req = unknown, Res = unknown> {
  /** "/etcdserverpb.KV/Range" */
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  /** Request message bytes → the object handlers receive. Throws on malformed bytes. */
  decodeRequest(bytes: Buffer): Req;
  /** Response object → its bytes behind the 5-byte gRPC prefix, in one buffer. */
  encodeResponse(res: Res): Buffer;
}

/** The request's custom headers (lowercase names), as grpc-js's Metadata.get gives them. */
export interface RequestMetadata {
  get(key: string): string[];
}

/** What every call offers, whatever its kind. */
export interface CallBase {
  readonly metadata: RequestMetadata;
  /** True once the client cancelled, the deadline passed or the connection went. */
  readonly cancelled: boolean;
  /** "address:port" of the client. */
  getPeer(): string;
  /** The deadline in epoch ms (Infinity: the client set none). */
  getDeadline(): number;
  /** The connection's accepted socket, for what the TLS acceptor recorded on it (tls/caller-identity.ts). */
  connectionSocket(): object | undefined;
  on(event: 'cancelled' | 'close', fn: () => void): this;
  once(event: 'cancelled' | 'close', fn: () => void): this;
  off(event: 'cancelled' | 'close', fn: () => void): this;
}

/** The answer of a unary or client-streaming call: an error, or the response. */
export type UnaryCallback<Res> = (err: StatusError | null, res?: Res) => void;

/** A unary call: one request, answered through the callback. */
export interface UnaryCall<Req> extends CallBase {
  readonly request: Req;
}

/** What a handler may do with the response side of a streaming call. */
export interface ResponseStream<Res> {
  /** Sends one response; false: the stream's buffer is full, wait for 'drain'. */
  write(res: Res): boolean;
  /** Sends already framed messages (each behind its 5-byte prefix) in one write. */
  writeFramed(framed: Buffer): boolean;
  /** Ends the call with status OK. */
  end(): void;
  /** Ends the call with this status. */
  fail(err: StatusError): void;
}

/** A server-streaming or bidi call. 'close' is emitted once, however the call ends. */
export interface StreamCall<Req, Res> extends CallBase, ResponseStream<Res> {
  /** Server streaming: the one request (undefined for bidi calls). */
  readonly request: Req;
  /** Stops reading requests (HTTP/2 flow control then holds the client back). */
  pause(): void;
  resume(): void;
  on(event: 'data', fn: (req: Req) => void): this;
  on(event: 'end' | 'drain' | 'cancelled' | 'close', fn: () => void): this;
  once(event: 'drain' | 'cancelled' | 'close', fn: () => void): this;
  off(event: 'drain' | 'cancelled' | 'close', fn: () => void): this;
}

export type UnaryHandler<Req = any, Res = any> = (call: UnaryCall<Req>, callback: UnaryCallback<Res>) => void;
export type StreamHandler<Req = any, Res = any> = (call: StreamCall<Req, Res>) => void;
/**
 * Unary and client-streaming methods take a UnaryHandler (a client-streaming
 * call also emits 'data' and 'end'); server-streaming and bidi methods a
 * StreamHandler.
 */
export type Handler = UnaryHandler | StreamHandler;

/** A service's handlers by method name ("Range"). */
export type ServiceImplementation = Record<string, Handler>;
/** A service's methods by name. */
export type ServiceDefinition = Record<string, MethodDefinition>;
