// What the load generator's light transports (h2.ts, raw-h2.ts) share of gRPC:
// the length-prefixed message frame, cached per request object (workloads reuse
// theirs, so most calls encode nothing), and the error a failed call reports.

import type * as grpc from '@grpc/grpc-js';

export class MessageFrames {
  private readonly frames = new WeakMap<object, Buffer>();

  /** `req` serialized behind gRPC's 5-byte prefix (uncompressed, length). */
  frame(serialize: (v: unknown) => Buffer, req: unknown): Buffer {
    const cacheable = typeof req === 'object' && req !== null;
    const hit = cacheable ? this.frames.get(req) : undefined;
    if (hit) return hit;
    const msg = serialize(req);
    const f = Buffer.allocUnsafe(5 + msg.length);
    f[0] = 0;
    f.writeUInt32BE(msg.length, 1);
    msg.copy(f, 5);
    if (cacheable) this.frames.set(req, f);
    return f;
  }
}

/** A failed call, shaped as grpc-js reports one (code and details). */
export function grpcError(code: number, details: string): grpc.ServiceError {
  const e = new Error(`${code} ${details}`) as Error & { code: number; details: string };
  e.code = code;
  e.details = details;
  return e as unknown as grpc.ServiceError;
}
