// The long-lived outbound stream of Raft messages to one peer (etcd's rafthttp
// streamWriter). States:
//
//   idle ──start──► connecting ──peer accepts (headers)──► active
//                      ▲   │ refused / error / dial timeout      │ stream lost
//                      │   ▼                                     ▼
//                      └── backoff (100 ms doubling to 2 s, jittered) ◄┘
//
// send() never blocks: while connecting or active, encoded messages go into a
// bounded queue that is written as RaftBatch frames (many messages per write) in a
// microtask after the caller's synchronous work (so one Ready's messages to a peer
// share a write, and a leader's appends reach the socket before its own WAL write
// completes), and only while gRPC accepts more (write() → true, or after 'drain'). A full queue, a peer in backoff, or a stream that fails with
// messages still queued means dropped messages: the peer is reported unreachable
// and Raft retries on its own (probe, heartbeat, next MsgApp).

import type * as grpc from '@grpc/grpc-js';
import { Backoff } from './backoff.js';
import type { PeerContext } from './context.js';
import { BoundedQueue } from './queue.js';
import {
  type Ack,
  clusterMismatch,
  deserializeAck,
  hex,
  idMetadata,
  MD_CLUSTER_ID,
  readId,
  removedDetails,
  serializeBatch,
  STREAM_PATH,
} from './service.js';

export type StreamState = 'idle' | 'connecting' | 'active' | 'backoff' | 'stopped';

/** How the stream reaches the peer: the owner picks the URL and its gRPC client. */
export interface Dialer {
  client(): grpc.Client;
  /** The URL the current client talks to (for logs). */
  url(): string;
  /** The last attempt failed: try the peer's next URL next time. */
  rotate(): void;
}

const STATUS_FAILED_PRECONDITION = 9;

export class MessageStream {
  private _state: StreamState = 'idle';
  private activeSinceMs = 0;
  private call: grpc.ClientWritableStream<Uint8Array[]> | undefined;
  private readonly queue: BoundedQueue;
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  /** A flush is queued as a microtask (cleared by teardown to cancel it). */
  private flushQueued = false;
  private waitingDrain = false;
  /** The last failure logged; the same failure again is logged at debug only. */
  private lastFailure = '';

  constructor(
    private readonly peerId: bigint,
    private readonly ctx: PeerContext,
    private readonly dialer: Dialer,
  ) {
    this.queue = new BoundedQueue(ctx.limits.maxQueueMessages, ctx.limits.maxQueueBytes);
    this.backoff = new Backoff(ctx.limits.backoffMinMs, ctx.limits.backoffMaxMs);
  }

  /** Date.now() when the stream last became active; undefined while it is not active (rafthttp's ActiveSince). */
  get activeSince(): number | undefined {
    return this._state === 'active' ? this.activeSinceMs : undefined;
  }

  get state(): StreamState {
    return this._state;
  }

  get queued(): number {
    return this.queue.length;
  }

  start(): void {
    if (this._state === 'idle') this.connect();
  }

  /** Queues one encoded message; false when it was dropped (the caller reports it). */
  send(encoded: Uint8Array): boolean {
    if (this._state !== 'active' && this._state !== 'connecting') return false;
    if (!this.queue.push(encoded)) return false;
    if (this._state === 'active' && !this.flushQueued && !this.waitingDrain) {
      this.flushQueued = true;
      queueMicrotask(() => {
        if (!this.flushQueued) return; // torn down meanwhile
        this.flushQueued = false;
        this.flush();
      });
    }
    return true;
  }

  /** Drops the current stream and dials again at once (new URLs, or a fresh start). */
  restart(): void {
    if (this._state === 'stopped') return;
    const wasStarted = this._state !== 'idle';
    this.teardown();
    if (this.queue.clear() > 0) this.ctx.reportUnreachable(this.peerId);
    this.backoff.reset();
    this._state = 'idle';
    if (wasStarted) this.connect();
  }

  stop(): void {
    this.teardown();
    this.queue.clear();
    this._state = 'stopped';
  }

  private teardown(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushQueued = false;
    this.waitingDrain = false;
    const call = this.call;
    this.call = undefined;
    call?.cancel();
  }

  private connect(): void {
    this._state = 'connecting';
    const { localId, clusterId, limits } = this.ctx;
    let call: grpc.ClientWritableStream<Uint8Array[]> | undefined = undefined;
    const md = idMetadata(localId, clusterId, this.peerId);
    try {
      call = this.dialer
        .client()
        .makeClientStreamRequest<Uint8Array[], Ack>(STREAM_PATH, serializeBatch, deserializeAck, md, {}, (err) =>
          this.onEnd(call!, err),
        );
    } catch (err) {
      this.fail(`cannot dial: ${(err as Error).message}`, 'warn');
      return;
    }
    this.call = call;
    call.on('error', () => {}); // the status reaches the callback above
    call.on('metadata', (headers: grpc.Metadata) => this.onAccepted(call!, headers));
    call.on('drain', () => {
      if (this.call !== call) return;
      this.waitingDrain = false;
      this.flush();
    });
    this.timer = setTimeout(() => {
      if (this.call !== call || this._state !== 'connecting') return;
      this.call = undefined;
      call!.cancel();
      this.fail(`peer did not accept the stream within ${limits.dialTimeoutMs} ms`, 'warn');
    }, limits.dialTimeoutMs);
  }

  private onAccepted(call: grpc.ClientWritableStream<Uint8Array[]>, headers: grpc.Metadata): void {
    if (this.call !== call || this._state !== 'connecting') return;
    const remoteCluster = readId(headers, MD_CLUSTER_ID);
    if (remoteCluster !== undefined && remoteCluster !== this.ctx.clusterId) {
      this.call = undefined;
      call.cancel();
      this.fail(clusterMismatch(this.ctx.clusterId, remoteCluster), 'error');
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this._state = 'active';
    this.activeSinceMs = Date.now();
    this.backoff.reset();
    this.lastFailure = '';
    this.ctx.logger.info({ peer: hex(this.peerId), url: this.dialer.url() }, 'peer became active');
    this.flush();
  }

  private onEnd(call: grpc.ClientWritableStream<Uint8Array[]>, err: grpc.ServiceError | null): void {
    if (this.call !== call) return; // replaced or torn down on purpose
    this.call = undefined;
    if (err === null) {
      this.fail('peer closed the stream', 'warn');
    } else if (err.code === STATUS_FAILED_PRECONDITION) {
      // The peer refused us; say why in our own terms when it is the cluster id.
      const remoteCluster = readId(err.metadata, MD_CLUSTER_ID);
      const reason =
        remoteCluster !== undefined && remoteCluster !== this.ctx.clusterId
          ? clusterMismatch(this.ctx.clusterId, remoteCluster)
          : `peer refused the stream: ${err.details}`;
      this.fail(reason, 'error');
      if (err.details === removedDetails(this.ctx.localId)) this.ctx.reportRemoved?.();
    } else {
      this.fail(err.details || err.message, 'warn');
    }
  }

  private fail(reason: string, level: 'warn' | 'error'): void {
    if (this._state === 'stopped') return;
    const wasActive = this._state === 'active';
    clearTimeout(this.timer);
    this.flushQueued = false;
    this.waitingDrain = false;
    const dropped = this.queue.clear();
    if (dropped > 0 || wasActive) this.ctx.reportUnreachable(this.peerId);
    const fields = { peer: hex(this.peerId), url: this.dialer.url(), reason, dropped };
    if (wasActive) this.ctx.logger.warn(fields, 'peer became inactive (message stream lost)');
    else if (reason !== this.lastFailure) this.ctx.logger[level](fields, `cannot reach peer: ${reason}`);
    else this.ctx.logger.debug(fields, `cannot reach peer: ${reason}`);
    this.lastFailure = reason;
    this.dialer.rotate();
    this._state = 'backoff';
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this._state === 'backoff') this.connect();
    }, this.backoff.next());
  }

  private flush(): void {
    const call = this.call;
    if (this._state !== 'active' || call === undefined) return;
    while (this.queue.length > 0 && !this.waitingDrain) {
      const batch = this.queue.take(this.ctx.limits.maxBatchBytes);
      if (!call.write(batch)) this.waitingDrain = true;
    }
  }
}
