// A minimal gRPC unary client straight on node:http2 — the light transport
// (`--transport h2`). grpc-js spends ~200 µs of CPU per call in its
// interceptor/filter/load-balancer layers, so on a 2-core box a grpc-js
// generator saturates before the server does. This one writes the request
// frame (encoded once per pre-built request object and cached), reads the
// status from the trailers and does not decode the response body.

import * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../src/server/api/services.js';
import type { KvTransport, UnaryCallback, UnaryFn, UnaryMethod } from './pool.js';
import { h2Options, type ClientTls } from './tls.js';
import { grpcError, MessageFrames } from './grpc-frame.js';

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_TE } = http2.constants;

export class H2Pool implements KvTransport {
  private readonly sessions: http2.ClientHttp2Session[] = [];
  private readonly frames = new MessageFrames();
  private readonly tokens: (string | undefined)[] = [];
  readonly endpoints: string[] = [];

  constructor(endpoints: readonly string[], conns: number, tls?: ClientTls) {
    for (let i = 0; i < conns; i++) {
      this.endpoints.push(endpoints[i % endpoints.length]!);
      const s = http2.connect(`${tls ? 'https' : 'http'}://${endpoints[i % endpoints.length]}`, {
        settings: { initialWindowSize: 4 << 20, enablePush: false },
        ...(tls ? h2Options(tls) : {}),
      });
      s.on('error', () => {}); // surfaced per stream
      s.once('connect', () => s.setLocalWindowSize(16 << 20));
      this.sessions.push(s);
    }
  }

  ready(timeoutMs = 10_000): Promise<void> {
    return Promise.all(
      this.sessions.map(
        (s, i) =>
          new Promise<void>((resolve, reject) => {
            if (s.connecting === false && !s.destroyed) return resolve();
            const t = setTimeout(() => reject(new Error(`connection ${i}: not connected after ${timeoutMs} ms`)), timeoutMs);
            s.once('connect', () => (clearTimeout(t), resolve()));
            s.once('error', (err) => (clearTimeout(t), reject(new Error(`connection ${i}: ${err.message}`))));
          }),
      ),
    ).then(() => undefined);
  }

  setToken(conn: number, token: string): void {
    this.tokens[conn] = token;
  }

  method(conn: number, method: UnaryMethod): UnaryFn {
    const def = apiServices().KV[method];
    if (!def) throw new Error(`KV.${method}: no such method`);
    const session = this.sessions[conn % this.sessions.length]!;
    const serialize = def.requestSerialize as (v: unknown) => Buffer;
    const headers = {
      [HTTP2_HEADER_METHOD]: 'POST',
      [HTTP2_HEADER_PATH]: def.path,
      [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      [HTTP2_HEADER_TE]: 'trailers',
      ...(this.tokens[conn % this.sessions.length] ? { token: this.tokens[conn % this.sessions.length] } : {}),
    };
    return (req: unknown, options: grpc.CallOptions, cb: UnaryCallback) => {
      let status = -1;
      let details = '';
      let done = false;
      const finish = (err: grpc.ServiceError | null): void => {
        if (done) return;
        done = true;
        cb(err);
      };
      const onMeta = (h: http2.IncomingHttpHeaders): void => {
        const st = h['grpc-status'];
        if (st !== undefined) {
          status = Number(st);
          const m = h['grpc-message'];
          details = typeof m === 'string' ? decodeURIComponent(m) : '';
        }
      };
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request(headers, { endStream: false });
      } catch (e) {
        setImmediate(() => finish(grpcError(14, `request: ${(e as Error).message}`)));
        return undefined as unknown as grpc.ClientUnaryCall;
      }
      if (options.deadline !== undefined) {
        const ms = Number(options.deadline) - Date.now();
        stream.setTimeout(Math.max(1, ms), () => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          finish(grpcError(4, 'context deadline exceeded'));
        });
      }
      stream.on('response', onMeta); // trailers-only responses carry the status here
      stream.on('trailers', onMeta);
      stream.on('data', () => {}); // body is not decoded; draining keeps flow control moving
      stream.on('error', (err) => finish(grpcError(14, err.message)));
      stream.on('close', () => {
        if (status === 0) finish(null);
        else if (status > 0) finish(grpcError(status, details));
        else finish(grpcError(13, `stream closed without grpc-status (rst code ${stream.rstCode})`));
      });
      stream.end(this.frames.frame(serialize, req));
      return undefined as unknown as grpc.ClientUnaryCall;
    };
  }

  close(): void {
    for (const s of this.sessions) s.close();
  }
}
