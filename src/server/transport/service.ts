// The gRPC peer service `etcdts.peer.Raft` (proto/etcdserverpb/peer.proto) and the
// ids every call on the peer port carries (gRPC metadata here; the same names are
// the HTTP headers of the Raft message stream's handshake, stream-protocol.ts).
// SendSnapshot is client-streaming: the sender writes chunks, the receiver answers
// once at the end (or refuses at the start).

import * as grpc from '@grpc/grpc-js';
import { decodeSnapshotChunk, encodeSnapshotChunk, type SnapshotChunk } from './wire.js';

export const SNAPSHOT_PATH = '/etcdts.peer.Raft/SendSnapshot';

/** Request/response metadata keys (and stream handshake headers); ids in hex, as etcd prints member ids. */
export const MD_FROM = 'etcdts-from';
export const MD_TO = 'etcdts-to';
export const MD_CLUSTER_ID = 'etcdts-cluster-id';

/** The ack is an empty message. */
export type Ack = Record<string, never>;
const EMPTY = Buffer.alloc(0);
const ack = (): Ack => ({});

export const serializeChunk = (c: SnapshotChunk): Buffer => encodeSnapshotChunk(c);
export const serializeAck = (): Buffer => EMPTY;
export const deserializeAck = (): Ack => ack();

export const raftServiceDefinition: grpc.ServiceDefinition = {
  SendSnapshot: {
    path: SNAPSHOT_PATH,
    requestStream: true,
    responseStream: false,
    requestSerialize: serializeChunk,
    requestDeserialize: (b: Buffer): SnapshotChunk => decodeSnapshotChunk(b),
    responseSerialize: serializeAck,
    responseDeserialize: deserializeAck,
  },
};

export function idMetadata(from: bigint, clusterId: bigint, to?: bigint): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(MD_FROM, from.toString(16));
  md.set(MD_CLUSTER_ID, clusterId.toString(16));
  if (to !== undefined) md.set(MD_TO, to.toString(16));
  return md;
}

/** A hex id from metadata, or undefined when absent or malformed. */
export function readId(md: grpc.Metadata | undefined, key: string): bigint | undefined {
  return parseHexId(md?.get(key)[0]);
}

/** A member or cluster id as written in metadata and headers (hex), or undefined. */
export function parseHexId(v: unknown): bigint | undefined {
  if (typeof v !== 'string' || !/^[0-9a-f]{1,16}$/i.test(v)) return undefined;
  return BigInt('0x' + v);
}

export const hex = (id: bigint): string => id.toString(16);

export function clusterMismatch(local: bigint, remote: bigint): string {
  return `cluster ID mismatch: local ${hex(local)}, remote ${hex(remote)}`;
}

/** What a peer answers a member removed from the cluster (receiver.ts admit()). */
export function removedDetails(id: bigint): string {
  return `member ${hex(id)} was removed from the cluster`;
}
