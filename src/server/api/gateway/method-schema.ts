// What the gateway needs to know about one gRPC method, from the proto schema:
// its request and response message types (for the JSON mapping) and their
// codecs (the request goes through the same bytes a gRPC client would send).

import type protobuf from 'protobufjs';
import { messageCodec, type MessageCodec } from '../../../pb/index.js';
import { schema } from '../../../pb/schema.js';
import { PREFIX_BYTES } from '../../grpc/framing.js';

export interface MethodSchema {
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
  readonly requestCodec: MessageCodec;
  readonly responseCodec: MessageCodec;
}

const cache = new Map<string, MethodSchema>();

/** The schema of "/etcdserverpb.KV/Range" (undefined: no such method in our protos). */
export function methodSchema(grpcPath: string): MethodSchema | undefined {
  const hit = cache.get(grpcPath);
  if (hit) return hit;
  const m = /^\/([^/]+)\/([^/]+)$/.exec(grpcPath);
  if (!m) return undefined;
  let method: protobuf.Method | undefined;
  try {
    method = schema().lookupService(m[1]!).methods[m[2]!];
  } catch {
    return undefined;
  }
  if (!method) return undefined;
  method.resolve();
  const requestType = method.resolvedRequestType!;
  const responseType = method.resolvedResponseType!;
  const s: MethodSchema = {
    requestType,
    responseType,
    requestCodec: messageCodec(requestType.fullName.slice(1)),
    responseCodec: messageCodec(responseType.fullName.slice(1)),
  };
  cache.set(grpcPath, s);
  return s;
}

/** The messages in a buffer of framed gRPC messages (5-byte prefix each), as a handler's writeFramed sends them. */
export function unframe(framed: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + PREFIX_BYTES <= framed.length) {
    const len = framed.readUInt32BE(pos + 1);
    out.push(framed.subarray(pos + PREFIX_BYTES, pos + PREFIX_BYTES + len));
    pos += PREFIX_BYTES + len;
  }
  return out;
}
