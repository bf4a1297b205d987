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
  method(conn: number, method: UnaryMethod): UnaryFn;
  close(): void;
}

export class KvPool implements KvTransport {
  readonly clients: grpc.Client[];

  constructor(endpoints: readonly string[], conns: number, tls?: ClientTls) {
    const Ctor = grpc.makeGenericClientConstructor(apiServices().KV, 'KV');
    this.clients = [];
    for (let i = 0; i < conns; i++) {
      const target = endpoints[i % endpoints.length]!;
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

  /** The bound unary method `method` of connection `conn`. */
  method(conn: number, method: UnaryMethod): UnaryFn {
    const c = this.clients[conn % this.clients.length] as unknown as Record<string, UnaryFn>;
    const fn = c[method];
    if (typeof fn !== 'function') throw new Error(`KV.${method}: no such method`);
    return fn.bind(c);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
