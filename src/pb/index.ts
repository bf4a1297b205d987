// The etcd message codecs, below every layer that uses them: protos loaded at
// runtime, compiled encoders/decoders with bigint 64-bit fields, the Raft log
// payload (InternalRaftRequest). gRPC service definitions are in server/api/services.ts.

export { encodeInternalRequest, decodeInternalRequest, encodeInternalRequestRaw, INTERNAL_FIELD, type RequestCaller } from './internal.js';
export { rawBytes } from './raw.js';
export { messageCodec, messageNames } from './registry.js';
export type { MessageCodec } from './compile.js';
export { protoDir } from './protodir.js';
export * from './types.js';
