// Public surface of the etcd v3 API codec: protos loaded at runtime, compiled
// encoders/decoders with bigint 64-bit fields, grpc-js service definitions.

export { apiServices, unimplementedHandlers, serviceDefinition, SERVICE_NAMES } from './services.js';
export type { ApiServices } from './services.js';
export { encodeInternalRequest, decodeInternalRequest, encodeInternalRequestRaw, INTERNAL_FIELD } from './internal.js';
export { rawBytes } from './raw.js';
export { messageCodec, messageNames } from './registry.js';
export type { MessageCodec } from './compile.js';
export { protoDir } from './protodir.js';
export * from './types.js';
