// A promise-based client of the Lock and Election services over grpc-js and our
// codec: every unary call has a deadline and may be cancelled through an
// AbortSignal (as a client giving up on a wait does); Observe collects the
// leader responses as they come.

import * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../../src/server/api/services.js';
import type * as pb from '../../../src/pb/types.js';

type Unary = (
  req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => grpc.ClientUnaryCall;
type ServerStream = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<pb.LeaderResponse>;

export interface CallOpts {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class RecipeClient {
  private readonly lock: grpc.Client & Record<string, Unary>;
  private readonly election: grpc.Client & Record<string, Unary> & { Observe: ServerStream };

  /** `token`: an auth token sent with every call (etcd's "token" metadata). */
  constructor(endpoint: string, private readonly token?: string) {
    const options = { 'grpc.use_local_subchannel_pool': 1 };
    const LockCtor = grpc.makeGenericClientConstructor(apiServices().Lock, 'Lock');
    const ElectionCtor = grpc.makeGenericClientConstructor(apiServices().Election, 'Election');
    this.lock = new LockCtor(endpoint, grpc.credentials.createInsecure(), options) as unknown as RecipeClient['lock'];
    this.election = new ElectionCtor(endpoint, grpc.credentials.createInsecure(), options) as unknown as RecipeClient['election'];
  }

  private call<Res>(client: grpc.Client & Record<string, Unary>, method: string, req: unknown, opts: CallOpts = {}): Promise<Res> {
    return new Promise((res, rej) => {
      const call = client[method]!.call(client, req, this.metadata(), { deadline: new Date(Date.now() + (opts.timeoutMs ?? 10_000)) }, (err, v) =>
        err ? rej(err) : res(v as Res),
      );
      opts.signal?.addEventListener('abort', () => call.cancel(), { once: true });
    });
  }

  Lock(name: string, lease: bigint, opts?: CallOpts): Promise<pb.LockResponse> {
    return this.call(this.lock, 'Lock', { name: Buffer.from(name), lease }, opts);
  }

  Unlock(key: Uint8Array, opts?: CallOpts): Promise<pb.UnlockResponse> {
    return this.call(this.lock, 'Unlock', { key }, opts);
  }

  Campaign(name: string, lease: bigint, value: string, opts?: CallOpts): Promise<pb.CampaignResponse> {
    return this.call(this.election, 'Campaign', { name: Buffer.from(name), lease, value: Buffer.from(value) }, opts);
  }

  Proclaim(leader: pb.Encodable<pb.LeaderKey> | undefined, value: string, opts?: CallOpts): Promise<pb.ProclaimResponse> {
    return this.call(this.election, 'Proclaim', { leader, value: Buffer.from(value) }, opts);
  }

  Leader(name: string, opts?: CallOpts): Promise<pb.LeaderResponse> {
    return this.call(this.election, 'Leader', { name: Buffer.from(name) }, opts);
  }

  Resign(leader: pb.Encodable<pb.LeaderKey> | undefined, opts?: CallOpts): Promise<pb.ResignResponse> {
    return this.call(this.election, 'Resign', { leader }, opts);
  }

  /** Starts Observe; `responses` fills as they arrive, `ended` settles with the call's status. */
  Observe(name: string): { responses: pb.LeaderResponse[]; ended: Promise<grpc.StatusObject>; cancel(): void } {
    const stream = this.election.Observe({ name: Buffer.from(name) }, this.metadata(), {});
    const responses: pb.LeaderResponse[] = [];
    stream.on('data', (r: pb.LeaderResponse) => responses.push(r));
    stream.on('error', () => {}); // the status below says it
    const ended = new Promise<grpc.StatusObject>((res) => stream.on('status', res));
    return { responses, ended, cancel: () => stream.cancel() };
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token !== undefined) md.set('token', this.token);
    return md;
  }

  close(): void {
    this.lock.close();
    this.election.close();
  }
}
