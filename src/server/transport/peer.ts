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
  private snapClientKey = '';
  private rpcClient: grpc.Client | undefined;
  private rpcClientKey = '';
  readonly stream: MessageStream;
  readonly snapshots: SnapshotSender;

  constructor(
    readonly id: bigint,
    urls: string[],
    private readonly ctx: PeerContext,
  ) {
    urls.forEach((u) => ctx.dialer.target(u)); // refuse bad URLs up front
    this.urls = [...urls];
    this.stream = new MessageStream(id, ctx, {
      dial: (events) => {
        const url = this.currentUrl();
        return dialRaftStream(url, { from: ctx.localId, to: id, clusterId: ctx.clusterId }, events, () => ctx.dialer.connect(url));
      },
      url: () => this.currentUrl(),
      rotate: () => {
        this.urlIndex = (this.urlIndex + 1) % Math.max(1, this.urls.length);
      },
    });
    this.snapshots = new SnapshotSender(id, ctx, () => {
      const key = this.clientKey();
      if (this.snapClient === undefined || this.snapClientKey !== key) {
        this.snapClient?.close();
        this.snapClient = this.newClient(this.currentUrl());
        this.snapClientKey = key;
      }
      return this.snapClient;
    });
  }

  /** The client for unary calls to this peer, on its current URL (made on first use). */
  unaryClient(): grpc.Client {
    const key = this.clientKey();
    if (this.rpcClient === undefined || this.rpcClientKey !== key) {
      this.rpcClient?.close();
      this.rpcClient = this.newClient(this.currentUrl());
      this.rpcClientKey = key;
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

  /**
   * New URLs: every later dial goes to them (a no-op when the set is unchanged).
   * A message stream that is up stays up, as etcd's rafthttp keeps its live
   * connections on UpdatePeer (only its URL picker changes): the connection was
   * accepted by this very member, and a member update must not cut it off from
   * the cluster. Cut off (say, updated to an address it does not listen on yet),
   * it would campaign at ever higher terms (no pre-vote by default) and depose the
   * leader as soon as it is reachable again. A stream not up dials the new URLs at once.
   */
  update(urls: string[]): void {
    urls.forEach((u) => this.ctx.dialer.target(u));
    if (sameSet(urls, this.urls)) return;
    this.urls = [...urls];
    this.urlIndex = 0;
    this.closeClients();
    if (this.stream.state !== 'active') this.stream.restart();
  }

  stop(): void {
    this.stream.stop();
    this.snapshots.stop();
    this.closeClients();
  }

  private currentUrl(): string {
    return this.urls[this.urlIndex % this.urls.length]!;
  }

  private clientKey(): string {
    return `${this.currentUrl()} ${this.ctx.dialer.generation}`;
  }

  private newClient(url: string): grpc.Client {
    return new grpc.Client(this.ctx.dialer.target(url), this.ctx.dialer.grpcCredentials(url), channelOptions(this.ctx.limits));
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
