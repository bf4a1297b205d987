// A minimal promise-based Lease client over grpc-js and our codec: ids stay
// bigint end to end (the etcd3 npm client passes them as decimal strings and
// cannot choose an id on grant), every call has a deadline, and keep-alives go
// over one LeaseKeepAlive stream that many leases can share.

import * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../../src/server/api/services.js';
import type * as pb from '../../../src/pb/types.js';

type Unary = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;
type KeepAliveCall = grpc.ClientDuplexStream<pb.Encodable<pb.LeaseKeepAliveRequest>, pb.LeaseKeepAliveResponse>;

export interface LeaseClientOptions {
  /** Deadline of each unary call (default 10 s). */
  timeoutMs?: number;
  channelOptions?: grpc.ChannelOptions;
}

export class LeaseClient {
  private readonly client: grpc.Client & Record<string, Unary> & { LeaseKeepAlive(): KeepAliveCall };
  private readonly timeoutMs: number;

  constructor(endpoint: string, opts: LeaseClientOptions = {}) {
    const Ctor = grpc.makeGenericClientConstructor(apiServices().Lease, 'Lease');
    this.client = new Ctor(endpoint, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      ...opts.channelOptions,
    }) as unknown as LeaseClient['client'];
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private call<Res>(method: string, req: unknown, timeoutMs = this.timeoutMs): Promise<Res> {
    return new Promise((res, rej) => {
      this.client[method]!.call(this.client, req, { deadline: new Date(Date.now() + timeoutMs) }, (err, v) =>
        err ? rej(err) : res(v as Res),
      );
    });
  }

  /** LeaseGrant; `id` 0 (default) lets the server choose. */
  grant(ttl: number, id = 0n): Promise<pb.LeaseGrantResponse> {
    return this.call('LeaseGrant', { TTL: BigInt(ttl), ID: id });
  }

  revoke(id: bigint): Promise<pb.LeaseRevokeResponse> {
    return this.call('LeaseRevoke', { ID: id });
  }

  timeToLive(id: bigint, keys = false): Promise<pb.LeaseTimeToLiveResponse> {
    return this.call('LeaseTimeToLive', { ID: id, keys });
  }

  leases(): Promise<pb.LeaseLeasesResponse> {
    return this.call('LeaseLeases', {});
  }

  /** One keep-alive on a stream of its own, answered or failed within the deadline. */
  keepAliveOnce(id: bigint, timeoutMs = this.timeoutMs): Promise<pb.LeaseKeepAliveResponse> {
    return new Promise((res, rej) => {
      const call = this.client.LeaseKeepAlive();
      const timer = setTimeout(() => {
        call.cancel();
        rej(new Error(`keep-alive of ${id.toString(16)}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      call.on('data', (r: pb.LeaseKeepAliveResponse) => {
        clearTimeout(timer);
        call.cancel();
        res(r);
      });
      call.on('error', (e: grpc.ServiceError) => {
        clearTimeout(timer);
        if (e.code !== grpc.status.CANCELLED) rej(e);
      });
      call.write({ ID: id });
    });
  }

  /** A raw keep-alive stream: write {ID} for each renewal, one response per request. */
  keepAliveStream(): KeepAliveCall {
    return this.client.LeaseKeepAlive();
  }

  close(): void {
    this.client.close();
  }
}

/** Go's %016x of an int64, as etcdctl prints lease ids (a negative one as '-' and its magnitude). */
export function leaseHex(id: bigint): string {
  return id < 0n ? `-${(-id).toString(16).padStart(15, '0')}` : id.toString(16).padStart(16, '0');
}
