// A minimal promise-based KV client over grpc-js and our codec, for tests that
// need exact control (no client-side retries that could hide a lost write).

import * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../../src/server/api/services.js';
import type * as pb from '../../../src/pb/types.js';

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;

export interface KvClientOptions {
  /** Deadline of each call (default 10 s). */
  timeoutMs?: number;
  /** Extra grpc-js channel options (e.g. a short reconnect backoff for members that come and go). */
  channelOptions?: grpc.ChannelOptions;
}

export class KvClient {
  private readonly client: grpc.Client & Record<string, Unary<unknown, unknown>>;
  private readonly timeoutMs: number;

  constructor(endpoint: string, opts: KvClientOptions = {}) {
    const Ctor = grpc.makeGenericClientConstructor(apiServices().KV, 'KV');
    this.client = new Ctor(endpoint, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      ...opts.channelOptions,
    }) as unknown as grpc.Client & Record<string, Unary<unknown, unknown>>;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private call<Req, Res>(method: string, req: Req, timeoutMs = this.timeoutMs): Promise<Res> {
    return new Promise((res, rej) => {
      const deadline = new Date(Date.now() + timeoutMs);
      (this.client[method] as unknown as (r: Req, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: Res) => void) => void).call(
        this.client,
        req,
        { deadline },
        (err, value) => (err ? rej(err) : res(value)),
      );
    });
  }

  put(key: string, value: string | Buffer, extra: Partial<pb.Encodable<pb.PutRequest>> = {}): Promise<pb.PutResponse> {
    return this.call('Put', { key: Buffer.from(key), value: Buffer.from(value), ...extra });
  }

  range(req: pb.Encodable<pb.RangeRequest>): Promise<pb.RangeResponse> {
    return this.call('Range', req);
  }

  get(key: string): Promise<pb.RangeResponse> {
    return this.range({ key: Buffer.from(key) });
  }

  txn(req: pb.Encodable<pb.TxnRequest>): Promise<pb.TxnResponse> {
    return this.call('Txn', req);
  }

  deleteRange(req: pb.Encodable<pb.DeleteRangeRequest>): Promise<pb.DeleteRangeResponse> {
    return this.call('DeleteRange', req);
  }

  compact(revision: number, physical = false): Promise<pb.CompactionResponse> {
    return this.call('Compact', { revision: BigInt(revision), physical });
  }

  close(): void {
    this.client.close();
  }
}
