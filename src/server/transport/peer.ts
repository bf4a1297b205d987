// One remote member as the transport sees it: its URLs, the outbound message
// stream (its own HTTP/1.1 connection, stream-dial.ts), a gRPC client (its own
// TCP connection) for snapshots and another for unary calls (requests forwarded
// to the leader, such as lease renewals), and the snapshot sender.

import * as grpc from '@grpc/grpc-js';
import type { Message } from '../../raft/types.js';
import type { PeerContext } from './context.js';
import { MessageStream } from './message-stream.js';
import { SnapshotSender } from './snapshot-sender.js';
import { dialRaftStream } from './stream-dial.js';
import type { TransportLimits } from './types.js';

/** host:port for gRPC (and the message stream) from a peer URL; only http:// for now. */
export function grpcTarget(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`peer URL ${url}: only http:// peer URLs are supported (no TLS yet)`);
  return `${u.hostname}:${u.port || 80}`;
}

function channelOptions(limits: TransportLimits): grpc.ChannelOptions {
  return {
    // Each transport owns its connections (several members in one process, tests).
    'grpc.use_local_subchannel_pool': 1,
    // Our own backoff decides when to retry; keep gRPC's below it.
    'grpc.initial_reconnect_backoff_ms': limits.backoffMinMs,
    'grpc.max_reconnect_backoff_ms': limits.backoffMaxMs,
    'grpc.keepalive_time_ms': limits.keepaliveMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    // A retried stream would buffer what it sent; Raft retries by itself.
    'grpc.enable_retries': 0,
  };
}

export class Peer {
  private urls: string[];
  private urlIndex = 0;
  private snapClient: grpc.Client | undefined;
  private snapClientUrl = '';
  private rpcClient: grpc.Client | undefined;
  private rpcClientUrl = '';
  readonly stream: MessageStream;
  readonly snapshots: SnapshotSender;

  constructor(
    readonly id: bigint,
    urls: string[],
    private readonly ctx: PeerContext,
  ) {
    urls.forEach(grpcTarget); // refuse bad URLs up front
    this.urls = [...urls];
    this.stream = new MessageStream(id, ctx, {
      dial: (events) => dialRaftStream(this.currentUrl(), { from: ctx.localId, to: id, clusterId: ctx.clusterId }, events),
      url: () => this.currentUrl(),
      rotate: () => {
        this.urlIndex = (this.urlIndex + 1) % Math.max(1, this.urls.length);
      },
    });
    this.snapshots = new SnapshotSender(id, ctx, () => {
      const url = this.currentUrl();
      if (this.snapClient === undefined || this.snapClientUrl !== url) {
        this.snapClient?.close();
        this.snapClient = this.newClient(url);
        this.snapClientUrl = url;
      }
      return this.snapClient;
    });
  }

  /** The client for unary calls to this peer, on its current URL (made on first use). */
  unaryClient(): grpc.Client {
    const url = this.currentUrl();
    if (this.rpcClient === undefined || this.rpcClientUrl !== url) {
      this.rpcClient?.close();
      this.rpcClient = this.newClient(url);
      this.rpcClientUrl = url;
    }
    return this.rpcClient;
  }

  get peerUrls(): readonly string[] {
    return this.urls;
  }

  start(): void {
    this.stream.start();
  }

  /** False when the message was dropped. */
  send(encoded: Uint8Array): boolean {
    return this.stream.send(encoded);
  }

  sendSnapshot(m: Message): void {
    this.snapshots.send(m);
  }

  /** New URLs: reconnect to them (a no-op when the set is unchanged). */
  update(urls: string[]): void {
    urls.forEach(grpcTarget);
    if (sameSet(urls, this.urls)) return;
    this.urls = [...urls];
    this.urlIndex = 0;
    this.closeClients();
    this.stream.restart();
  }

  stop(): void {
    this.stream.stop();
    this.snapshots.stop();
    this.closeClients();
  }

  private currentUrl(): string {
    return this.urls[this.urlIndex % this.urls.length]!;
  }

  private newClient(url: string): grpc.Client {
    return new grpc.Client(grpcTarget(url), grpc.credentials.createInsecure(), channelOptions(this.ctx.limits));
  }

  private closeClients(): void {
    this.snapClient?.close();
    this.rpcClient?.close();
    this.snapClient = undefined;
    this.rpcClient = undefined;
  }
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((u) => s.has(u));
}
