// The /v3 JSON gateway on the client port (etcd's grpc-gateway): finds the gRPC
// method of a path (paths.ts), turns the JSON body into the request object a
// gRPC client's bytes would decode to (json-codec.ts), and calls the handler
// the gRPC server registered for that method, through a call object backed by
// the HTTP request (http-call.ts). Whatever the gRPC server serves — guarded,
// instrumented, or Unimplemented — the gateway serves the same way.

import type * as http from 'node:http';
import { withRawBytes } from '../../../pb/raw.js';
import { goError } from '../../http-reply.js';
import { Status, type StatusError } from '../../grpc/status.js';
import type { Handler, MethodDefinition, StreamHandler, UnaryHandler } from '../../grpc/types.js';
import { BodyValues } from './body-values.js';
import { GoJsonSyntaxError, JsonIncomplete, JsonReader, type JsonValue } from './go-json.js';
import { GatewayCall, GatewayStreamCall } from './http-call.js';
import { JsonMappingError, messageFromJson, messageToJson } from './json-codec.js';
import { methodSchema, type MethodSchema, unframe } from './method-schema.js';
import { GATEWAY_PATHS } from './paths.js';
import { StreamWriter, writeError, writeUnary } from './stream-writer.js';

/** The gRPC server's methods by path ("/etcdserverpb.KV/Range"), as it would dispatch them. */
export interface RpcRoutes {
  route(grpcPath: string): { method: MethodDefinition; handler: Handler } | undefined;
}

export interface GatewayOptions {
  /** The gRPC server's receive limit (--max-request-bytes plus its framing allowance). */
  maxReceiveBytes: number;
}

type Route = { method: MethodDefinition; handler: Handler; schema: MethodSchema };

/** A request the gateway could not read into its message: grpc-gateway's InvalidArgument (Unknown for a bidi stream's first). */
class BadRequest extends Error {}

export class Gateway {
  constructor(
    private readonly routes: RpcRoutes,
    private readonly opts: GatewayOptions,
  ) {}

  /** Serves one request whose path (already /v3beta → /v3) starts with /v3/. */
  serve(path: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    const grpcPath = GATEWAY_PATHS.get(path);
    if (grpcPath === undefined) return goError(res, 404, 'Not Found');
    if (req.method !== 'POST') return goError(res, 405, 'Method Not Allowed');
    const found = this.routes.route(grpcPath);
    const schema = methodSchema(grpcPath);
    if (!found || !schema) {
      return writeError(res, Status.UNIMPLEMENTED, `unknown service ${grpcPath.split('/')[1]}`, true);
    }
    const route = { ...found, schema };
    if (route.method.requestStream) this.serveBidi(route, req, res);
    else this.serveOne(route, req, res);
  }

  /** The request object of one JSON value, through the bytes a gRPC client would send. */
  private request(route: Route, value: JsonValue): unknown {
    let obj: Record<string, unknown>;
    try {
      obj = messageFromJson(route.schema.requestType, value);
    } catch (e) {
      if (e instanceof JsonMappingError) throw new BadRequest(e.message);
      throw e;
    }
    const bytes = route.schema.requestCodec.encode(obj);
    if (bytes.length > this.opts.maxReceiveBytes) {
      throw Object.assign(new Error(), {
        status: { code: Status.RESOURCE_EXHAUSTED, details: `grpc: received message larger than max (${bytes.length} vs. ${this.opts.maxReceiveBytes})` },
      });
    }
    return withRawBytes(route.method.decodeRequest(bytes), bytes);
  }

  private responseJson(route: Route, res: unknown): string {
    // Through the wire form, so the JSON shows exactly what a gRPC client would decode.
    const codec = route.schema.responseCodec;
    return messageToJson(route.schema.responseType, codec.decode(codec.encode(res as never)));
  }

  private framedJson(route: Route, framed: Buffer): string[] {
    return unframe(framed).map((m) => messageToJson(route.schema.responseType, route.schema.responseCodec.decode(m)));
  }

  /** Unary and server-streaming: the first JSON value of the body is the request. */
  private serveOne(route: Route, req: http.IncomingMessage, res: http.ServerResponse): void {
    readBody(req, bodyLimit(this.opts.maxReceiveBytes), (body) => {
      if (body === undefined) {
        const details = `grpc: received message larger than max (> ${this.opts.maxReceiveBytes})`;
        return writeError(res, Status.RESOURCE_EXHAUSTED, details, true);
      }
      let request: unknown;
      try {
        request = this.request(route, firstValue(body));
      } catch (e) {
        const status = (e as { status?: StatusError }).status;
        if (status) return writeError(res, status.code, status.details, true);
        if (e instanceof BadRequest) return writeError(res, Status.INVALID_ARGUMENT, e.message, false);
        throw e;
      }
      if (route.method.responseStream) return this.startStream(route, req, res, request);
      const call = new GatewayCall(req, res);
      call.request = request;
      const answer = (err: StatusError | null, out?: unknown): void => {
        if (res.headersSent || res.destroyed) return;
        if (err && err.code !== Status.OK) return writeError(res, err.code, err.details, true);
        let json: string;
        try {
          json = this.responseJson(route, out);
        } catch (e) {
          return writeError(res, Status.INTERNAL, `grpc: error while marshaling: ${(e as Error).message}`, true);
        }
        writeUnary(res, json);
      };
      try {
        (route.handler as UnaryHandler)(call as never, answer);
      } catch (e) {
        answer({ code: Status.UNKNOWN, details: (e as Error).message ?? String(e) });
      }
    });
  }

  private startStream(route: Route, req: http.IncomingMessage, res: http.ServerResponse, request: unknown): GatewayStreamCall {
    const out = new StreamWriter(res);
    const call = new GatewayStreamCall(req, res, out, (r) => this.responseJson(route, r), (f) => this.framedJson(route, f));
    call.request = request;
    try {
      (route.handler as StreamHandler)(call as never);
    } catch (e) {
      call.fail({ code: Status.UNKNOWN, details: (e as Error).message ?? String(e) });
    }
    return call;
  }

  /**
   * Bidi (Watch, LeaseKeepAlive): as grpc-gateway, the first request is read
   * before the call starts (a bad one fails the request with Unknown); the
   * rest follow as they arrive, and the first bad one ends the client's side.
   */
  private serveBidi(route: Route, req: http.IncomingMessage, res: http.ServerResponse): void {
    const values = new BodyValues();
    let call: GatewayStreamCall | undefined;
    let ended = false;
    const take = (items: ReturnType<BodyValues['push']>, bodyEnded: boolean): void => {
      for (const item of items) {
        if (ended) return;
        let request: unknown;
        try {
          if ('error' in item) throw new BadRequest(item.error);
          request = this.request(route, item.value);
        } catch (e) {
          const status = (e as { status?: StatusError }).status;
          if (!(e instanceof BadRequest) && !status) throw e;
          ended = true;
          if (!call) {
            req.resume();
            return writeError(res, status?.code ?? Status.UNKNOWN, status?.details ?? (e as Error).message, false);
          }
          call.deliverEnd();
          return;
        }
        if (!call) call = this.startStream(route, req, res, undefined);
        call.deliver(request);
      }
      if (bodyEnded && !ended) {
        ended = true;
        (call ??= this.startStream(route, req, res, undefined)).deliverEnd();
      }
    };
    req.on('data', (chunk: Buffer) => take(values.push(chunk), false));
    req.on('end', () => take(values.end(), true));
  }
}

/** What a unary body may hold: the request's limit in base64 inside JSON, with room to spare. */
function bodyLimit(maxReceiveBytes: number): number {
  return maxReceiveBytes * 2 + 64 * 1024;
}

/** The first JSON value of a body (nothing, or only whitespace: an empty request, as Go's io.EOF). */
function firstValue(body: string): JsonValue {
  const r = new JsonReader(body);
  if (r.atEnd()) return { kind: 'null' };
  try {
    return r.readValue();
  } catch (e) {
    if (e instanceof GoJsonSyntaxError || e instanceof JsonIncomplete) throw new BadRequest(e.message);
    throw e;
  }
}

/** Reads the whole body as UTF-8 (undefined: longer than `limit` bytes). */
function readBody(req: http.IncomingMessage, limit: number, done: (body: string | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > limit) over = true;
    else chunks.push(c);
  });
  req.on('end', () => done(over ? undefined : Buffer.concat(chunks).toString('utf8')));
}
