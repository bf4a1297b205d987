// A pool of gRPC connections to the KV service. Each connection is its own
// grpc.Client with a local subchannel pool: otherwise grpc-js would share one
// HTTP/2 connection between all clients of the same address. Connections are
// spread round-robin over the endpoints; callers pick one by index.

import * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../src/server/api/services.js';
import { grpcCredentials, type ClientTls } from './tls.js';

export type UnaryMethod = 'Range' | 'Put' | 'DeleteRange' | 'Txn' | 'Compact';
export type UnaryCallback = (err: grpc.ServiceError | null, res?: unknown) => void;
/** grpc-js generic unary method, (request, options, callback) form: grpc-js makes fresh metadata. */
export type UnaryFn = (req: unknown, options: grpc.CallOptions, cb: UnaryCallback) => grpc.ClientUnaryCall;

/** What the runner needs from a transport (grpc-js pool or the raw h2 one). */
export interface KvTransport {
  ready(timeoutMs?: number): Promise<void>;
  /** From now on, requests on connection `conn` carry `token` (the `token` gRPC metadata). */
  setToken(conn: number, token: string): void;
  /** How many connections, and each one's endpoint. */
  readonly endpoints: readonly string[];
  method(conn: number, method: UnaryMethod): UnaryFn;
  close(): void;
}

export class KvPool implements KvTransport {
  readonly clients: grpc.Client[];
  readonly endpoints: string[] = [];
  private readonly tokens: (grpc.Metadata | undefined)[] = [];

  constructor(endpoints: readonly string[], conns: number, tls?: ClientTls) {
    const Ctor = grpc.makeGenericClientConstructor(apiServices().KV, 'KV');
    this.clients = [];
    for (let i = 0; i < conns; i++) {
      const target = endpoints[i % endpoints.length]!;
      this.endpoints.push(target);
      this.clients.push(
        new Ctor(target, grpcCredentials(tls), {
          'grpc.use_local_subchannel_pool': 1,
          'grpc.max_receive_message_length': 64 * 1024 * 1024,
          'grpc.max_send_message_length': 64 * 1024 * 1024,
        }),
      );
    }
  }

  /** Waits until every connection is READY (or throws after timeoutMs). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(
      this.clients.map(
        (c, i) =>
          new Promise<void>((resolve, reject) =>
            c.waitForReady(deadline, (err) =>
              err ? reject(new Error(`connection ${i} to ${c.getChannel().getTarget()}: ${err.message}`)) : resolve(),
            ),
          ),
      ),
    );
  }

  setToken(conn: number, token: string): void {
    const md = new grpc.Metadata();
    md.set('token', token);
    this.tokens[conn] = md;
  }

  /** The bound unary method `method` of connection `conn`. */
  method(conn: number, method: UnaryMethod): UnaryFn {
    const i = conn % this.clients.length;
    const c = this.clients[i] as unknown as Record<string, UnaryFn>;
    const fn = c[method];
    if (typeof fn !== 'function') throw new Error(`KV.${method}: no such method`);
    const md = this.tokens[i];
    if (!md) return fn.bind(c);
    // grpc-js takes (request, metadata, options, callback); each call gets its own copy.
    const withMd = fn as unknown as (req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: UnaryCallback) => grpc.ClientUnaryCall;
    return (req, options, cb) => withMd.call(c, req, md.clone(), options, cb);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
