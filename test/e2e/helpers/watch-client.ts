// A raw Watch stream over grpc-js and our codec, for tests that look at every
// response exactly as the server sent it (no client-side merging, retries or
// resumption). Every wait is bounded.

import * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../../src/server/api/services.js';
import type * as pb from '../../../src/pb/types.js';

export type CreateRequest = pb.Encodable<pb.WatchCreateRequest>;

export class WatchClient {
  readonly responses: pb.WatchResponse[] = [];
  error: grpc.ServiceError | undefined;
  ended = false;
  private read = 0;
  private readonly client: grpc.Client;
  private readonly ownsClient: boolean;
  private readonly call: grpc.ClientDuplexStream<pb.Encodable<pb.WatchRequest>, pb.WatchResponse>;

  /** `client` lets several streams share one connection (many streams per connection). */
  constructor(endpoint: string, opts: { metadata?: Record<string, string>; client?: grpc.Client } = {}) {
    const Ctor = grpc.makeGenericClientConstructor(apiServices().Watch, 'Watch');
    this.ownsClient = opts.client === undefined;
    this.client = opts.client ?? new Ctor(endpoint, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': -1,
    });
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
    const c = this.client as unknown as { Watch(md: grpc.Metadata): WatchClient['call'] };
    this.call = c.Watch(md);
    this.call.on('data', (r: pb.WatchResponse) => this.responses.push(r));
    this.call.on('error', (e: grpc.ServiceError) => (this.error = e));
    this.call.on('end', () => (this.ended = true));
  }

  get grpcClient(): grpc.Client {
    return this.client;
  }

  send(req: pb.Encodable<pb.WatchRequest>): void {
    this.call.write(req);
  }

  create(req: CreateRequest): void {
    this.send({ createRequest: req });
  }

  cancel(watchId: bigint): void {
    this.send({ cancelRequest: { watchId } });
  }

  progress(): void {
    this.send({ progressRequest: {} });
  }

  /** The next response not taken yet, in arrival order. */
  async next(ms = 10_000): Promise<pb.WatchResponse> {
    const deadline = Date.now() + ms;
    while (this.read >= this.responses.length) {
      if (this.error) throw new Error(`watch stream failed: ${this.error.code} ${this.error.details}`);
      if (Date.now() > deadline) throw new Error(`no watch response within ${ms} ms (got ${this.responses.length})`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.responses[this.read++]!;
  }

  /** Takes responses until `n` events of watcher `id` have arrived; returns those events. */
  async events(id: bigint, n: number, ms = 10_000): Promise<pb.Event[]> {
    const out: pb.Event[] = [];
    const deadline = Date.now() + ms;
    while (out.length < n) {
      const r = await this.next(Math.max(1, deadline - Date.now()));
      if (r.watchId === id) out.push(...r.events);
    }
    return out;
  }

  /** Asserts that nothing arrives for `ms`. */
  async nothingFor(ms: number): Promise<void> {
    const before = this.responses.length;
    await new Promise((r) => setTimeout(r, ms));
    if (this.responses.length !== before) {
      throw new Error(`unexpected watch response: ${JSON.stringify(this.responses[before], (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    }
  }

  /** Waits for the stream to end with an error status. */
  async failure(ms = 10_000): Promise<grpc.ServiceError> {
    const deadline = Date.now() + ms;
    while (!this.error) {
      if (Date.now() > deadline) throw new Error(`watch stream did not fail within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.error;
  }

  close(): void {
    this.call.cancel();
    if (this.ownsClient) this.client.close();
  }
}
