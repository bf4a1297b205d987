// The long-lived outbound stream of Raft messages to one peer (etcd's rafthttp
// streamWriter). States:
//
//   idle ──start──► connecting ──peer accepts (101)──► active
//                      ▲   │ refused / error / dial timeout      │ stream lost
//                      │   ▼                                     ▼
//                      └── backoff (100 ms doubling to 2 s, jittered) ◄┘
//
// send() never blocks: while connecting or active, encoded messages go into a
// bounded queue that is written as frames (many messages per socket write) in a
// microtask after the caller's synchronous work (so one Ready's messages to a peer
// share a write, and a leader's appends reach the socket before its own WAL write
// completes), and only while the socket accepts more (write() → true, or after
// 'drain'). A full queue, a peer in backoff, or a stream that fails with messages
// still queued means dropped messages: the peer is reported unreachable and Raft
// retries on its own (probe, heartbeat, next MsgApp).
//
// While active, an empty frame (a ping) goes out every keepaliveMs; a peer that
// does not answer it within keepaliveTimeoutMs is treated as gone (a silent
// partition, a stopped process), as HTTP/2 keepalive did for the gRPC stream.
//
// The connection itself is the Dialer's (stream-dial.ts); this file is the state
// machine, and runs as well over a fake link (test/unit/message-stream.test.ts).

import { Backoff } from './backoff.js';
import type { PeerContext } from './context.js';
import { encodeFrames } from './frames.js';
import { BoundedQueue } from './queue.js';
import { clusterMismatch, hex } from './service.js';
import { KEEPALIVE_FRAME, StreamStatus } from './stream-protocol.js';
import { runSoon } from '../../util/microtask.js';
import { stage } from '../../util/stage-trace.js';

export type StreamState = 'idle' | 'connecting' | 'active' | 'backoff' | 'stopped';

/** How a dialed stream ended, as the link saw it. */
export type StreamEnd =
  /** The receiver refused the handshake or closed the stream saying why (stream-protocol.ts statuses). */
  | { readonly kind: 'refused'; readonly status: number; readonly details: string; readonly remoteCluster?: bigint | undefined }
  /** The receiver closed the connection without a word. */
  | { readonly kind: 'closed' }
  /** Connecting failed, or the socket did. */
  | { readonly kind: 'error'; readonly message: string };

/** What a link reports; each at most once per link after `ended`, nothing. */
export interface StreamEvents {
  /** The receiver accepted the stream; its cluster id from the answer, if it gave one. */
  accepted(remoteCluster: bigint | undefined): void;
  /** The socket took what was written (write() had returned false). */
  drain(): void;
  /** The receiver answered a ping. */
  pong(): void;
  ended(end: StreamEnd): void;
}

/** One dialed connection to the peer. */
export interface StreamLink {
  /** Queues bytes on the socket; false: wait for drain before writing more. */
  write(bytes: Uint8Array): boolean;
  /** Closes the connection; no event follows. */
  close(): void;
}

/** How the stream reaches the peer: the owner picks the URL. */
export interface Dialer {
  /** Starts connecting to the current URL; no event fires before dial() returns. */
  dial(events: StreamEvents): StreamLink;
  /** The URL the current link talks to (for logs). */
  url(): string;
  /** The last attempt failed: try the peer's next URL next time. */
  rotate(): void;
}

export class MessageStream {
  private _state: StreamState = 'idle';
  private activeSinceMs = 0;
  private link: StreamLink | undefined;
  private readonly queue: BoundedQueue;
  private readonly backoff: Backoff;
  /** The dial timeout while connecting, the reconnect delay in backoff. */
  private timer: NodeJS.Timeout | undefined;
  /** While active: the next ping, or the deadline of the one in flight. */
  private keepaliveTimer: NodeJS.Timeout | undefined;
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

  /**
   * Queues one encoded message (never empty: an empty frame is a ping, and a
   * message sent to a peer has its `to` set); false when it was dropped (the
   * caller reports it).
   */
  send(encoded: Uint8Array): boolean {
    if (this._state !== 'active' && this._state !== 'connecting') return false;
    if (!this.queue.push(encoded)) return false;
    if (this._state === 'active' && !this.flushQueued && !this.waitingDrain) {
      this.flushQueued = true;
      runSoon(this.writeQueued);
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
    this.clearTimers();
    this.flushQueued = false;
    this.waitingDrain = false;
    const link = this.link;
    this.link = undefined;
    link?.close();
  }

  private clearTimers(): void {
    clearTimeout(this.timer);
    clearTimeout(this.keepaliveTimer);
    this.timer = undefined;
    this.keepaliveTimer = undefined;
  }

  private connect(): void {
    this._state = 'connecting';
    const { limits } = this.ctx;
    let link: StreamLink | undefined = undefined;
    // Events of a link that is no longer ours (replaced, torn down) are ignored.
    const mine = (): boolean => link !== undefined && this.link === link;
    try {
      link = this.dialer.dial({
        accepted: (remoteCluster) => {
          if (mine()) this.onAccepted(remoteCluster);
        },
        drain: () => {
          if (!mine()) return;
          this.waitingDrain = false;
          this.flush();
        },
        pong: () => {
          if (mine()) this.onPong();
        },
        ended: (end) => {
          if (!mine()) return;
          this.link = undefined;
          this.onEnd(end);
        },
      });
    } catch (err) {
      this.fail(`cannot dial: ${(err as Error).message}`, 'warn');
      return;
    }
    this.link = link;
    this.timer = setTimeout(() => {
      if (!mine() || this._state !== 'connecting') return;
      this.dropLink();
      this.fail(`peer did not accept the stream within ${limits.dialTimeoutMs} ms`, 'warn');
    }, limits.dialTimeoutMs);
  }

  private dropLink(): void {
    const link = this.link;
    this.link = undefined;
    link?.close();
  }

  private onAccepted(remoteCluster: bigint | undefined): void {
    if (this._state !== 'connecting') return;
    if (remoteCluster !== undefined && remoteCluster !== this.ctx.clusterId) {
      this.dropLink();
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
    this.schedulePing();
    this.flush();
  }

  private schedulePing(): void {
    const { keepaliveMs, keepaliveTimeoutMs } = this.ctx.limits;
    this.keepaliveTimer = setTimeout(() => {
      const link = this.link;
      if (this._state !== 'active' || link === undefined) return;
      if (!link.write(KEEPALIVE_FRAME)) this.waitingDrain = true;
      this.keepaliveTimer = setTimeout(() => {
        if (this.link !== link) return;
        this.dropLink();
        this.fail(`peer did not answer a keepalive ping within ${keepaliveTimeoutMs} ms`, 'warn');
      }, keepaliveTimeoutMs);
    }, keepaliveMs);
  }

  private onPong(): void {
    if (this._state !== 'active') return;
    clearTimeout(this.keepaliveTimer);
    this.schedulePing();
  }

  private onEnd(end: StreamEnd): void {
    switch (end.kind) {
      case 'closed':
        return this.fail('peer closed the stream', 'warn');
      case 'error':
        return this.fail(end.message, 'warn');
      case 'refused': {
        const { status, details, remoteCluster } = end;
        const precondition = status === StreamStatus.PreconditionFailed || status === StreamStatus.Gone;
        // Say why in our own terms when it is the cluster id.
        const reason =
          precondition && remoteCluster !== undefined && remoteCluster !== this.ctx.clusterId
            ? clusterMismatch(this.ctx.clusterId, remoteCluster)
            : `peer refused the stream: ${details}`;
        this.fail(reason, precondition ? 'error' : 'warn');
        if (status === StreamStatus.Gone) this.ctx.reportRemoved?.();
        return;
      }
    }
  }

  private fail(reason: string, level: 'warn' | 'error'): void {
    if (this._state === 'stopped') return;
    const wasActive = this._state === 'active';
    this.clearTimers();
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

  /**
   * Writes what send() queued. It is send's microtask (made once: everything
   * queued in one callback goes out in one write), and a caller that wants the
   * write now calls it too (Transport.writeQueued); the microtask then finds
   * nothing to do, as it does once the stream was torn down meanwhile.
   */
  readonly writeQueued = (): void => {
    if (!this.flushQueued) return;
    this.flushQueued = false;
    this.flush();
  };

  private flush(): void {
    const link = this.link;
    if (this._state !== 'active' || link === undefined) return;
    while (this.queue.length > 0 && !this.waitingDrain) {
      const batch = this.queue.take(this.ctx.limits.maxBatchBytes);
      const frames = encodeFrames(batch);
      stage('sock-w');
      if (!link.write(frames)) this.waitingDrain = true;
      stage('sock-wd');
    }
  }
}
