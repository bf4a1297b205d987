// What the peer transport is given and what it calls back: options, callbacks and
// the logger shape. No behaviour lives here.

import type { Message } from '../../raft/types.js';
import type { PeerDialer } from '../tls/peer-dialer.js';
import type { TlsAcceptor } from '../tls/tls-accept.js';

type LogFn = (obj: Record<string, unknown>, msg: string) => void;

/** The subset of pino the transport uses; a pino Logger fits. */
export interface TransportLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export interface PeerTransportOptions {
  /** This member's id; sent with every stream and checked by the receiver. */
  localId: bigint;
  clusterId: bigint;
  /** --listen-peer-urls (https:// ones need `acceptor`); port 0 picks a free port (tests). */
  listenUrls: URL[];
  logger: TransportLogger;
  /** An inbound Raft message (a reassembled MsgSnap included); the driver steps it. */
  onMessage(m: Message): void;
  /** Messages to `id` were dropped (peer down, queue full): RawNode.reportUnreachable(id). */
  onUnreachable(id: bigint): void;
  /** A MsgSnap to `id` was delivered (ok) or not: RawNode.reportSnapshot(id, ok ? Finish : Failure). */
  onSnapshotStatus(id: bigint, ok: boolean): void;
  /** Inbound streams from these members are refused (removed from the cluster). */
  isRemoved?(id: bigint): boolean;
  /** A peer refused us as a member removed from the cluster (etcd: the peer answers 410 Gone). */
  onRemovedByPeer?(): void;
  /** Tuning; defaults in DEFAULT_LIMITS. */
  limits?: Partial<TransportLimits>;
  /** How peers are dialed; default: http:// plain, https:// with Node's CA store and no client certificate. */
  dialer?: PeerDialer;
  /** Terminates TLS on https:// listen URLs (the peer TLS flags); without it they are refused. */
  acceptor?: TlsAcceptor;
  /** The member list served as JSON on the peer port's GET /members (peer-http.ts); without it, 404. */
  members?(): PeerMemberInfo[];
}

/** A member as GET /members on the peer port shows it (membership.ts's Member fits). */
export interface PeerMemberInfo {
  id: bigint;
  /** Empty until the member has published its attributes. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface TransportLimits {
  /** Messages queued per peer before new ones are dropped (etcd: 4096). */
  maxQueueMessages: number;
  /** Encoded bytes queued per peer before new messages are dropped. */
  maxQueueBytes: number;
  /** Bytes of frames per message-stream write (at least one message is always written). */
  maxBatchBytes: number;
  /** Reconnect backoff: first delay, doubled per failure up to the max, jittered. */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** A stream not accepted by the peer within this time counts as failed. */
  dialTimeoutMs: number;
  /**
   * Keepalive ping interval and answer timeout: message-stream pings (a receiver
   * closes a stream idle for 2 × keepaliveMs + keepaliveTimeoutMs) and the gRPC
   * connections' HTTP/2 pings. They detect silent partitions and stopped peers.
   */
  keepaliveMs: number;
  keepaliveTimeoutMs: number;
  /** Snapshot payload bytes per chunk. */
  snapshotChunkBytes: number;
  /** Largest snapshot payload accepted from a peer. */
  maxSnapshotBytes: number;
  /**
   * Largest encoded Raft message accepted on a message stream; a larger one closes
   * the stream (a CLOSE frame with 413, and a warning). The largest we send is a MsgApp:
   * MaxSizePerMsg (1 MiB) of entries, or one entry of up to --max-request-bytes
   * beyond it, plus headers. Snapshots travel on their own calls (maxSnapshotBytes).
   * etcd's rafthttp refuses messages over 512 MiB.
   */
  maxMessageBytes: number;
}

export const DEFAULT_LIMITS: TransportLimits = {
  maxQueueMessages: 4096,
  maxQueueBytes: 64 * 1024 * 1024,
  maxBatchBytes: 1024 * 1024,
  backoffMinMs: 100,
  backoffMaxMs: 2000,
  dialTimeoutMs: 2000,
  keepaliveMs: 5000,
  keepaliveTimeoutMs: 5000,
  snapshotChunkBytes: 64 * 1024,
  maxSnapshotBytes: 4 * 1024 * 1024 * 1024 - 1,
  maxMessageBytes: 64 * 1024 * 1024,
};
