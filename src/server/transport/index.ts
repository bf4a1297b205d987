// The peer transport: Raft messages between members over gRPC on --listen-peer-urls.
// See peer-transport.ts for the entry point and message-stream.ts for the behaviour.

export { PeerTransport } from './peer-transport.js';
export { DEFAULT_LIMITS, type PeerTransportOptions, type TransportLimits, type TransportLogger } from './types.js';
export { Backoff } from './backoff.js';
export { BoundedQueue } from './queue.js';
export { snapshotPayload, type SnapshotPayload } from './snapshot-sender.js';
export { decodeRaftBatch, decodeSnapshotChunk, encodeRaftBatch, encodeSnapshotChunk, type SnapshotChunk } from './wire.js';
export { clusterMismatch, raftServiceDefinition } from './service.js';
