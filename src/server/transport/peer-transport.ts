// PeerTransport: the Raft driver's Transport. Raft messages go over one HTTP/1.1
// message stream per (sender, receiver) pair (stream-protocol.ts); snapshots and
// the unary peer services over gRPC (etcdts.peer.*). It owns the listener on
// --listen-peer-urls (gRPC on HTTP/2; HTTP/1.1 for the message streams and for
// /version and /members: peer-http.ts), one Peer per remote member, and the
// deferral of callbacks (onUnreachable / onSnapshotStatus never run inside send()).

import * as grpc from '@grpc/grpc-js';
import type * as net from 'node:net';
import { encodeMessage } from '../../raft/codec.js';
import { type Message, MessageType } from '../../raft/types.js';
import type { PeerContext } from './context.js';
import { peerDialer } from '../tls/peer-dialer.js';
import { listenPeers, type PeerListener } from './listener.js';
import { Peer } from './peer.js';
import { peerHttpHandler } from './peer-http.js';
import { admit, raftServiceHandlers } from './receiver.js';
import { hex, idMetadata, raftServiceDefinition } from './service.js';
import { raftStreamUpgradeHandler } from './stream-inbound.js';
import { DEFAULT_LIMITS, type PeerTransportOptions, type TransportLimits } from './types.js';
import { stage, TRACE_ON } from '../../util/stage-trace.js';
import { traceName } from './trace-name.js';

/** A dropped-message warning per peer at most this often. */
const DROP_LOG_INTERVAL_MS = 1000;

export class PeerTransport {
  readonly localId: bigint;
  readonly clusterId: bigint;
  readonly limits: TransportLimits;
  private readonly peers = new Map<bigint, Peer>();
  private readonly ctx: PeerContext;
  private server: grpc.Server | undefined;
  private injector: grpc.ConnectionInjector | undefined;
  private listeners: PeerListener[] = [];
  private readonly inbound = new Set<grpc.ServerReadableStream<unknown, unknown>>();
  private readonly inboundStreams = new Set<net.Socket>();
  private started = false;
  private stopped = false;
  private pendingUnreachable = new Set<bigint>();
  private pendingSnapshots: [bigint, boolean][] = [];
  /** Messages sendSoon() queued; they go with the reports above, from the same callback. */
  private soon: Message[] = [];
  private deferredHandle: NodeJS.Immediate | undefined;
  private readonly dropLog = new Map<bigint, { at: number; count: number }>();
  private readonly extraServices: [grpc.ServiceDefinition, grpc.UntypedServiceImplementation][] = [];

  constructor(private readonly opts: PeerTransportOptions) {
    this.localId = opts.localId;
    this.clusterId = opts.clusterId;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.ctx = {
      localId: opts.localId,
      clusterId: opts.clusterId,
      limits: this.limits,
      logger: opts.logger,
      dialer: opts.dialer ?? peerDialer(),
      reportUnreachable: (id) => {
        this.pendingUnreachable.add(id);
        this.scheduleDeferred();
      },
      reportSnapshot: (id, ok) => {
        this.pendingSnapshots.push([id, ok]);
        this.scheduleDeferred();
      },
      reportRemoved: () => opts.onRemovedByPeer?.(),
    };
  }

  /** Listens on the peer URLs and starts dialing every known peer. */
  async start(): Promise<void> {
    if (this.started || this.stopped) throw new Error('PeerTransport: start() called twice or after stop()');
    this.started = true;
    const server = new grpc.Server({
      // A snapshot chunk (the first also carries the MsgSnap's header, a Raft
      // message); the unary peer calls are small.
      'grpc.max_receive_message_length': this.limits.snapshotChunkBytes + this.limits.maxMessageBytes + 1024,
      'grpc.max_send_message_length': -1,
      'grpc.keepalive_time_ms': this.limits.keepaliveMs,
      'grpc.keepalive_timeout_ms': this.limits.keepaliveTimeoutMs,
    });
    server.addService(
      raftServiceDefinition,
      raftServiceHandlers(
        {
          localId: this.localId,
          clusterId: this.clusterId,
          logger: this.opts.logger,
          maxSnapshotBytes: this.limits.maxSnapshotBytes,
          onMessage: this.onMessage,
          isRemoved: this.opts.isRemoved?.bind(this.opts),
        },
        (call) => {
          this.inbound.add(call);
          const forget = (): void => void this.inbound.delete(call);
          call.once('close', forget);
          call.once('error', forget);
          call.once('cancelled', forget);
        },
      ),
    );
    for (const [def, impl] of this.extraServices) server.addService(def, impl);
    this.server = server;
    this.injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const members = this.opts.members?.bind(this.opts);
    const streams = raftStreamUpgradeHandler(
      {
        localId: this.localId,
        clusterId: this.clusterId,
        logger: this.opts.logger,
        isRemoved: this.opts.isRemoved?.bind(this.opts),
        maxMessageBytes: this.limits.maxMessageBytes,
        // The sender pings every keepaliveMs; two missed pings and their timeout.
        idleTimeoutMs: 2 * this.limits.keepaliveMs + this.limits.keepaliveTimeoutMs,
        onMessage: this.onMessage,
      },
      (socket) => {
        this.inboundStreams.add(socket);
        socket.once('close', () => this.inboundStreams.delete(socket));
      },
    );
    this.listeners = await listenPeers(
      this.opts.listenUrls,
      this.injector,
      peerHttpHandler({ clusterId: this.clusterId, ...(members ? { members } : {}) }),
      streams,
      this.opts.acceptor ? { acceptor: this.opts.acceptor } : {},
    );
    this.opts.logger.info(
      { member: hex(this.localId), cluster: hex(this.clusterId), listen: this.addresses },
      'listening for peers',
    );
    for (const p of this.peers.values()) p.start();
  }

  /**
   * Another service on the peer port (say, lease renewals forwarded by followers).
   * Before start(). Its handlers admit each call first (see admit()).
   */
  addService(def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): void {
    if (this.started) throw new Error('PeerTransport: addService() after start()');
    this.extraServices.push([def, impl]);
  }

  /**
   * For handlers of services added with addService: the calling member's id if the
   * call comes from a member of this cluster addressed to us; otherwise the call
   * has been refused (FAILED_PRECONDITION, as the message stream refuses).
   */
  admit<R>(call: Pick<grpc.ServerUnaryCall<unknown, R>, 'metadata' | 'getPeer'>, callback: grpc.sendUnaryData<R>, what: string): bigint | undefined {
    const ctx = { localId: this.localId, clusterId: this.clusterId, logger: this.opts.logger, isRemoved: this.opts.isRemoved?.bind(this.opts) };
    return admit(ctx, call, callback, what);
  }

  /**
   * One unary call to a peer's service on its peer port, carrying our member and
   * cluster ids. Fails with the gRPC error (UNAVAILABLE when the peer is unknown
   * or down, DEADLINE_EXCEEDED after timeoutMs).
   */
  unary<Req, Res>(
    id: bigint,
    path: string,
    serialize: (r: Req) => Buffer,
    deserialize: (b: Buffer) => Res,
    req: Req,
    timeoutMs: number,
  ): Promise<Res> {
    const peer = this.peers.get(id);
    if (peer === undefined || this.stopped) {
      return Promise.reject(Object.assign(new Error(`peer ${hex(id)} is not known`), { code: grpc.status.UNAVAILABLE }));
    }
    return new Promise<Res>((resolve, reject) => {
      peer
        .unaryClient()
        .makeUnaryRequest<Req, Res>(
          path,
          serialize,
          deserialize,
          req,
          idMetadata(this.localId, this.clusterId, id),
          { deadline: Date.now() + timeoutMs },
          (err, res) => (err ? reject(err) : resolve(res!)),
        );
    });
  }

  /**
   * A bidi stream to a peer's service on its peer port (say, lease renewals),
   * carrying our member and cluster ids, with no deadline: the caller ends it.
   * Throws when the peer is not known.
   */
  stream<Req, Res>(id: bigint, path: string, serialize: (r: Req) => Buffer, deserialize: (b: Buffer) => Res): grpc.ClientDuplexStream<Req, Res> {
    const peer = this.peers.get(id);
    if (peer === undefined || this.stopped) throw Object.assign(new Error(`peer ${hex(id)} is not known`), { code: grpc.status.UNAVAILABLE });
    return peer.unaryClient().makeBidiStreamRequest<Req, Res>(path, serialize, deserialize, idMetadata(this.localId, this.clusterId, id), {});
  }

  /** host:port of every listener, as bound (port 0 resolved). */
  get addresses(): string[] {
    return this.listeners.map((l) => (l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`));
  }

  addPeer(id: bigint, urls: string[]): void {
    if (this.stopped || id === this.localId) return;
    if (urls.length === 0) throw new Error(`peer ${hex(id)}: no peer URLs`);
    if (this.peers.has(id)) {
      this.updatePeer(id, urls);
      return;
    }
    const peer = new Peer(id, urls, this.ctx);
    this.peers.set(id, peer);
    this.opts.logger.info({ peer: hex(id), urls }, 'added peer');
    if (this.started) peer.start();
  }

  removePeer(id: bigint): void {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    this.dropLog.delete(id);
    peer.stop();
    this.opts.logger.info({ peer: hex(id) }, 'removed peer');
  }

  updatePeer(id: bigint, urls: string[]): void {
    const peer = this.peers.get(id);
    if (!peer) {
      this.addPeer(id, urls);
      return;
    }
    if (urls.length === 0) throw new Error(`peer ${hex(id)}: no peer URLs`);
    peer.update(urls);
  }

  /** Ids of the peers messages are sent to. */
  peerIds(): bigint[] {
    return [...this.peers.keys()];
  }

  hasPeer(id: bigint): boolean {
    return this.peers.has(id);
  }

  /** Since when (Date.now()) the message stream to `id` has been up without interruption; undefined while down. */
  activeSince(id: bigint): number | undefined {
    return this.peers.get(id)?.stream.activeSince;
  }

  /** How many peers' message streams are up (etcd: Transport.ActivePeers). */
  activePeers(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.stream.state === 'active') n++;
    return n;
  }

  /** Whether the message stream to `id` is up (for status and tests). */
  isActive(id: bigint): boolean {
    return this.peers.get(id)?.stream.state === 'active';
  }

  /** Never blocks: queues per peer, drops (and reports unreachable) what cannot be queued. */
  send(messages: Message[]): void {
    if (this.stopped) return;
    for (const m of messages) {
      if (m.to === 0n || m.to === this.localId) continue;
      const peer = this.peers.get(m.to);
      if (peer === undefined) {
        this.opts.logger.debug({ peer: hex(m.to), type: m.type }, 'ignored message to unknown peer');
        continue;
      }
      if (m.type === MessageType.MsgSnap) {
        peer.sendSnapshot(m);
        continue;
      }
      if (TRACE_ON) stage(traceName('tx', m));
      if (!peer.send(encodeMessage(m))) this.dropped(peer, m);
    }
  }

  /** Writes what send() queued to every peer's socket now (Transport.writeQueued). */
  writeQueued(): void {
    if (this.stopped) return;
    for (const p of this.peers.values()) p.stream.writeQueued();
  }

  /**
   * Sends `messages` from a setImmediate callback: after the microtasks and I/O
   * callbacks this turn of the event loop has queued. On loopback, each socket
   * write runs the receiver's side and wakes it, often onto this thread's CPU,
   * so a message nobody waits for goes after a client's answer, not before it.
   */
  sendSoon(messages: Message[]): void {
    if (this.stopped) return;
    for (const m of messages) this.soon.push(m);
    this.scheduleDeferred();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.deferredHandle !== undefined) clearImmediate(this.deferredHandle);
    this.deferredHandle = undefined;
    this.soon = [];
    this.pendingUnreachable.clear();
    this.pendingSnapshots = [];
    for (const p of this.peers.values()) p.stop();
    this.peers.clear();
    for (const call of this.inbound) call.destroy();
    this.inbound.clear();
    for (const socket of this.inboundStreams) socket.destroy();
    this.inboundStreams.clear();
    await Promise.all(this.listeners.map((l) => l.close()));
    this.listeners = [];
    this.injector?.destroy();
    this.server?.forceShutdown();
    this.injector = undefined;
    this.server = undefined;
  }

  /** Every inbound Raft message, from either path; none after stop(). */
  private readonly onMessage = (m: Message): void => {
    if (!this.stopped) this.opts.onMessage(m);
  };

  private dropped(peer: Peer, m: Message): void {
    this.ctx.reportUnreachable(peer.id);
    const now = performance.now();
    let log = this.dropLog.get(peer.id);
    if (log === undefined) {
      log = { at: -Infinity, count: 0 };
      this.dropLog.set(peer.id, log);
    }
    log.count++;
    if (now - log.at < DROP_LOG_INTERVAL_MS) return;
    const state = peer.stream.state;
    const fields = { peer: hex(peer.id), type: m.type, dropped: log.count, state, queued: peer.stream.queued };
    // A full queue on a live stream means an overloaded network; drops to a peer we
    // already know is down are expected and logged quietly.
    if (state === 'active' || state === 'connecting') {
      this.opts.logger.warn(fields, 'dropped raft message since sending buffer is full (overloaded network)');
    } else {
      this.opts.logger.debug(fields, 'dropped raft message to unreachable peer');
    }
    log.at = now;
    log.count = 0;
  }

  /** One setImmediate for what waits for the end of this turn: sendSoon's messages, then the reports. */
  private scheduleDeferred(): void {
    if (this.stopped || this.deferredHandle !== undefined) return;
    this.deferredHandle = setImmediate(() => {
      this.deferredHandle = undefined;
      const due = this.soon;
      const unreachable = [...this.pendingUnreachable];
      const snaps = this.pendingSnapshots;
      this.soon = [];
      this.pendingUnreachable.clear();
      this.pendingSnapshots = [];
      if (due.length > 0) this.send(due);
      for (const id of unreachable) this.call(() => this.opts.onUnreachable(id));
      for (const [id, ok] of snaps) this.call(() => this.opts.onSnapshotStatus(id, ok));
    });
  }

  private call(f: () => void): void {
    if (this.stopped) return;
    try {
      f();
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message }, 'transport callback failed');
    }
  }
}
