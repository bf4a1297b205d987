// The peer transport: Raft messages between members on --listen-peer-urls (an
// HTTP/1.1 message stream per peer; snapshots and peer services over gRPC). See
// peer-transport.ts for the entry point and message-stream.ts for the behaviour.

export { PeerTransport } from './peer-transport.js';
export { DEFAULT_LIMITS, type PeerTransportOptions, type TransportLimits, type TransportLogger } from './types.js';
export { Backoff } from './backoff.js';
export { BoundedQueue } from './queue.js';
export { snapshotPayload, type SnapshotPayload } from './snapshot-sender.js';
export { decodeSnapshotChunk, encodeSnapshotChunk, type SnapshotChunk } from './wire.js';
export { encodeFrames, FrameDecoder, FrameTooLargeError } from './frames.js';
export { clusterMismatch, raftServiceDefinition } from './service.js';
