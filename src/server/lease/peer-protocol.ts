// The peer-port protocol a follower forwards keep-alives and time-to-live
// requests on (etcd forwards over its peer HTTP /leases endpoints). Renew and
// TimeToLive are unary and carry the client API's own messages; RenewStream is
// a long-lived bidi stream of keep-alive batches (renew-forwarder.ts sends
// them: one message per batch instead of one call per keep-alive). The
// coordinator is the client, peer-service.ts the server. Renew stays served
// for followers of older builds.

import type * as grpc from '@grpc/grpc-js';
import { messageCodec } from '../../pb/index.js';
import type * as pb from '../../pb/types.js';
import { readI64, varintSize, WireType, writeVarint } from '../../pb/wire.js';
import { WireReader } from '../../pb/wire-messages.js';

export const RENEW_PATH = '/etcdts.peer.Lease/Renew';
export const RENEW_STREAM_PATH = '/etcdts.peer.Lease/RenewStream';
export const TIME_TO_LIVE_PATH = '/etcdts.peer.Lease/TimeToLive';

/**
 * A RenewStream message is a sequence number and lease ids; its answer the
 * same sequence number and one result per id, in the same order: the TTL
 * granted (0: no such lease), or one of these.
 */
export const RENEW_NOT_LEADER = -1n;
/** The lease expired and its revoke is on the way: ask again shortly (the answer will be TTL 0). */
export const RENEW_AGAIN = -2n;

/** Both RenewStream messages: int64s, packed in field 1 (proto3 `repeated int64 values = 1;`). */
export function encodeInt64s(values: readonly bigint[]): Buffer {
  let body = 0;
  for (const v of values) body += varintSize(v);
  const out = Buffer.allocUnsafe(1 + varintSize(body) + body);
  let o = writeVarint(out, 0, 1 * 8 + WireType.LEN);
  o = writeVarint(out, o, body);
  for (const v of values) o = writeVarint(out, o, v);
  return out;
}

/** Decodes encodeInt64s' bytes (unpacked field-1 values too, as proto3 readers must). */
export function decodeInt64s(b: Uint8Array): bigint[] {
  const out: bigint[] = [];
  const r = new WireReader(b);
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LEN) {
      const c = { buf: r.bytes(), pos: 0 };
      while (c.pos < c.buf.length) out.push(readI64(c));
    } else if (field === 1 && wire === WireType.VARINT) {
      out.push(r.int64());
    } else {
      r.skip(wire);
    }
  }
  return out;
}

export const keepAliveReq = () => messageCodec<pb.LeaseKeepAliveRequest>('etcdserverpb.LeaseKeepAliveRequest');
export const keepAliveRes = () => messageCodec<pb.LeaseKeepAliveResponse>('etcdserverpb.LeaseKeepAliveResponse');
export const ttlReq = () => messageCodec<pb.LeaseTimeToLiveRequest>('etcdserverpb.LeaseTimeToLiveRequest');
export const ttlRes = () => messageCodec<pb.LeaseTimeToLiveResponse>('etcdserverpb.LeaseTimeToLiveResponse');

const INT64S = { encode: encodeInt64s, decode: decodeInt64s };

/** The service definition the peer transport serves. */
export function peerLeaseServiceDefinition(): grpc.ServiceDefinition {
  return {
    Renew: unaryDef(RENEW_PATH, keepAliveReq(), keepAliveRes()),
    RenewStream: { ...unaryDef(RENEW_STREAM_PATH, INT64S, INT64S), requestStream: true, responseStream: true },
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
