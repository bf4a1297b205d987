// The peer-port protocol a follower forwards keep-alives and time-to-live
// requests on (etcd forwards over its peer HTTP /leases endpoints): two unary
// methods carrying the client API's own messages. The coordinator is its client,
// peer-service.ts its server.

import type * as grpc from '@grpc/grpc-js';
import { messageCodec } from '../../pb/index.js';
import type * as pb from '../../pb/types.js';

export const RENEW_PATH = '/etcdts.peer.Lease/Renew';
export const TIME_TO_LIVE_PATH = '/etcdts.peer.Lease/TimeToLive';

export const keepAliveReq = () => messageCodec<pb.LeaseKeepAliveRequest>('etcdserverpb.LeaseKeepAliveRequest');
export const keepAliveRes = () => messageCodec<pb.LeaseKeepAliveResponse>('etcdserverpb.LeaseKeepAliveResponse');
export const ttlReq = () => messageCodec<pb.LeaseTimeToLiveRequest>('etcdserverpb.LeaseTimeToLiveRequest');
export const ttlRes = () => messageCodec<pb.LeaseTimeToLiveResponse>('etcdserverpb.LeaseTimeToLiveResponse');

/** The service definition the peer transport serves. */
export function peerLeaseServiceDefinition(): grpc.ServiceDefinition {
  return {
    Renew: unaryDef(RENEW_PATH, keepAliveReq(), keepAliveRes()),
    TimeToLive: unaryDef(TIME_TO_LIVE_PATH, ttlReq(), ttlRes()),
  };
}

function unaryDef<Req, Res>(
  path: string,
  req: { encode(r: Req): Buffer; decode(b: Uint8Array): Req },
  res: { encode(r: Res): Buffer; decode(b: Uint8Array): Res },
): grpc.MethodDefinition<Req, Res> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (r: Req) => req.encode(r),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: (r: Res) => res.encode(r),
    responseDeserialize: (b: Buffer) => res.decode(b),
  };
}
