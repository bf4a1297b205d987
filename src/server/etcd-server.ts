// EtcdServer: propose → wait for apply → answer, and ReadIndex for linearizable
// reads. It composes the Raft driver, the WAL, the MVCC store and the applier; the
// API adapters in ./api talk only to this class.

import type { Logger } from 'pino';
import { ErrProposalDropped } from '../raft/index.js';
import { type ReadState, type SoftState, StateType } from '../raft/types.js';
import { MvccStore, recoverStoreDir } from '../mvcc/index.js';
import { decodeSnapshotData, encodeSnapshotData, exportStoreImage, installStoreImage } from './snapshot-data.js';
import { encodeInternalRequest, encodeInternalRequestRaw } from './api/codec/index.js';
import type { Encodable, InternalRaftRequest, ResponseHeader } from './api/codec/types.js';
import { Applier, type ApplyResult } from './applier.js';
import { bootstrap, layout } from './bootstrap.js';
import { type Config, urlString } from './config.js';
import { ErrRequestTooLarge, ErrStopped, ErrTimeout, EtcdError, toEtcdError } from './errors.js';
import { LogCompactor } from './log-compactor.js';
import { Membership, type Member } from './membership.js';
import { ServerMetrics } from './metrics.js';
import { RaftNode } from './raft-node.js';
import { PeerTransport } from './transport/index.js';
import { ReadIndexer } from './read-index.js';
import { RequestIdGenerator } from './request-id.js';
import { Deadlines, IndexWaiter, deferred, type Deferred } from './waiters.js';

export type InternalRequestBody = Omit<Encodable<InternalRaftRequest>, 'header' | 'ID'>;

export interface ServerStatus {
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSize: number;
  isLearner: boolean;
}

export class EtcdServer {
  private readonly waiters = new Map<bigint, Deferred<ApplyResult>>();
  private readonly appliedWaiter: IndexWaiter;
  private readonly ids: RequestIdGenerator;
  private readonly reads: ReadIndexer;
  private readonly proposalDeadlines: Deadlines;
  private stopped = false;
  readonly metrics = new ServerMetrics();
  private leaderChanged: Deferred<void> = deferred();
  /** How long a request may wait for its entry to commit and apply (etcd: 5 s + 2 election timeouts). */
  readonly requestTimeoutMs: number;

  private constructor(
    readonly cfg: Config,
    readonly logger: Logger,
    readonly memberId: bigint,
    readonly clusterId: bigint,
    private readonly stores: { current: MvccStore },
    readonly membership: Membership,
    private readonly raft: RaftNode,
    private readonly applier: Applier,
    private readonly compactor: LogCompactor,
    private readonly transport: PeerTransport,
  ) {
    this.requestTimeoutMs = 5000 + 2 * cfg.electionMs;
    this.appliedWaiter = new IndexWaiter(applier.applied);
    this.ids = new RequestIdGenerator(memberId);
    this.proposalDeadlines = new Deadlines(this.requestTimeoutMs, ErrTimeout);
    this.reads = new ReadIndexer(
      (ctx) => this.raft.readIndex(ctx),
      (index) => this.appliedWaiter.wait(index),
      this.requestTimeoutMs,
      Math.max(100, cfg.electionMs / 2),
    );
  }

  static async start(cfg: Config, logger: Logger): Promise<EtcdServer> {
    const booted = await bootstrap(cfg, logger);
    const dirs = layout(cfg);
    await recoverStoreDir(dirs.dbDir);
    // Replaced as a whole when a snapshot from the leader is installed.
    const stores = { current: await MvccStore.open(dirs.dbDir, { logger }) };
    const membership = new Membership(booted.clusterId, booted.memberId);
    if (booted.snapshot) membership.restore(decodeSnapshotData(booted.snapshot.data).membership);
    let raftNode: RaftNode | undefined;
    const transport = new PeerTransport({
      localId: booted.memberId,
      clusterId: booted.clusterId,
      listenUrls: cfg.listenPeerUrls,
      logger,
      onMessage: (m) => raftNode?.step(m),
      onUnreachable: (id) => raftNode?.reportUnreachable(id),
      onSnapshotStatus: (id, ok) => raftNode?.reportSnapshot(id, ok),
      isRemoved: (id) => membership.isRemoved(id),
    });
    syncPeers(transport, membership, booted.memberId);
    await transport.start();
    let confState = booted.storage.initialState().confState;
    const compactor = new LogCompactor(
      {
        snapshotCount: cfg.snapshotCount,
        storage: booted.storage,
        wal: booted.wal,
        snapshotter: booted.snapshotter,
        store: () => stores.current,
        membership,
        confState: () => confState,
        logger,
      },
      booted.snapshot?.metadata.index ?? 0,
    );
    let server: EtcdServer | undefined;
    const metricsOf = (): ServerMetrics | undefined => server?.metrics;
    const applier = new Applier(
      stores.current,
      membership,
      {
        applyConfChange: (cc) => (confState = booted.raw.applyConfChange(cc)),
        membersChanged: () => syncPeers(transport, membership, booted.memberId),
        deliver: (id, result) => server?.deliver(id, result),
        applied: (index) => {
          server?.campaignIfSoleVoter();
          server?.appliedWaiter.advance(index);
          metricsOf()?.proposalsApplied.set(index);
          compactor.maybeSnapshot(index);
        },
      },
      logger,
    );
    const raft = (raftNode = new RaftNode(
      booted.raw,
      booted.storage,
      booted.wal,
      booted.snapshotter,
      transport,
      {
        onCommitted: (entries) => applier.push(entries),
        installSnapshot: async (snap) => {
          const { membership: members, image } = decodeSnapshotData(snap.data);
          if (!image) throw new Error(`snapshot at index ${snap.metadata.index} from the leader carries no store image`);
          await applier.drained();
          stores.current = await installStoreImage(dirs.dbDir, image, stores.current, logger);
          applier.setStore(stores.current);
          membership.restore(members);
          syncPeers(transport, membership, booted.memberId);
          confState = snap.metadata.confState;
          return { metadata: snap.metadata, data: encodeSnapshotData({ membership: members }) };
        },
        prepareSnapshot: async (m) => {
          const snap = m.snapshot!;
          const { membership: members } = decodeSnapshotData(snap.data);
          const image = await exportStoreImage(stores.current);
          logger.info(
            { to: m.to.toString(16), index: snap.metadata.index, bytes: image.length },
            'sending a snapshot with the store image to a follower behind the log',
          );
          return { ...m, snapshot: { ...snap, data: encodeSnapshotData({ membership: members, image }) } };
        },
        onReadStates: (states: ReadState[]) => server?.reads.onReadStates(states),
        onSoftState: (s: SoftState) => server?.onSoftState(s),
        onWalSync: (seconds) => metricsOf()?.walFsync.observe(seconds),
        onFatal: (err) => {
          // Nothing safe is left to do (a failed WAL write, a snapshot we cannot
          // install): stop and exit non-zero so a supervisor sees it.
          logger.fatal({ err: err.message }, 'member stopping');
          logger.flush();
          void (server?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
        },
      },
      cfg.heartbeatMs,
      logger,
    ));
    server = new EtcdServer(cfg, logger, booted.memberId, booted.clusterId, stores, membership, raft, applier, compactor, transport);
    raft.start();
    return server;
  }

  private soleVoterChecked = false;

  /**
   * A lone voter need not wait out an election timeout to lead itself (etcd advances
   * its ticks for the same reason). Checked once, after the first applied batch has
   * rebuilt the membership from the log.
   */
  private campaignIfSoleVoter(): void {
    if (this.soleVoterChecked) return;
    this.soleVoterChecked = true;
    const voters = this.membership.list().filter((m) => !m.isLearner);
    if (voters.length === 1 && voters[0]!.id === this.memberId && this.raft.leader === 0n) this.raft.campaign();
  }

  private onSoftState(s: SoftState): void {
    this.logger.info(
      { 'local-member-id': this.memberId.toString(16), leader: s.lead.toString(16), state: StateType[s.raftState] },
      s.lead === 0n ? 'raft lost leader' : 'raft elected leader',
    );
    this.metrics.hasLeader.set(s.lead !== 0n ? 1 : 0);
    this.metrics.isLeader.set(s.raftState === StateType.Leader ? 1 : 0);
    if (s.lead !== 0n) {
      this.metrics.leaderChanges.inc();
      this.leaderChanged.resolve();
      this.leaderChanged = deferred();
    }
  }

  /** The MVCC store (replaced as a whole when a snapshot from the leader is installed). */
  get store(): MvccStore {
    return this.stores.current;
  }

  get leader(): bigint {
    return this.raft.leader;
  }

  get isLeader(): boolean {
    return this.raft.isLeader;
  }

  header(revision = this.store.currentRevision()): ResponseHeader {
    return {
      clusterId: this.clusterId,
      memberId: this.memberId,
      revision: BigInt(revision),
      raftTerm: BigInt(this.raft.currentTerm),
    };
  }

  /**
   * Proposes a request through Raft and resolves with its apply result. `raw`, when
   * given, is the request's own wire bytes and the InternalRaftRequest field that
   * holds it: they go into the entry as they are (see encodeInternalRequestRaw).
   */
  async propose(body: InternalRequestBody, raw?: { field: number; bytes: Uint8Array }): Promise<unknown> {
    if (this.stopped) throw ErrStopped();
    const id = this.ids.next();
    const data = raw
      ? encodeInternalRequestRaw(id, raw.field, raw.bytes)
      : encodeInternalRequest({ ...body, header: { ID: id } });
    if (data.length > this.cfg.maxRequestBytes) throw ErrRequestTooLarge();
    const d = deferred<ApplyResult>();
    this.waiters.set(id, d);
    this.metrics.proposalsPending.inc();
    const deadline = Date.now() + this.requestTimeoutMs;
    let result: ApplyResult;
    // The clock starts now, so time spent waiting for a leader counts too.
    const applied = this.proposalDeadlines.track(d);
    applied.catch(() => {}); // it may time out while we still wait for a leader; handled below
    try {
      await this.proposeWhenLeaderKnown(data, deadline);
      result = await applied;
    } catch (err) {
      if (!d.settled) d.resolve({ ok: false, error: err as Error }); // nobody awaits `applied` now
      this.metrics.proposalsFailed.inc();
      throw err;
    } finally {
      this.waiters.delete(id);
      this.metrics.proposalsPending.dec();
    }
    if (!result.ok) throw toEtcdError(result.error);
    return result.value;
  }

  private async proposeWhenLeaderKnown(data: Uint8Array, deadline: number): Promise<void> {
    for (;;) {
      try {
        this.raft.propose(data);
        return;
      } catch (err) {
        if (!(err instanceof ErrProposalDropped)) throw err;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.stopped) throw this.stopped ? ErrStopped() : ErrTimeout();
      // No leader to take it (or a leadership transfer is under way): wait for one, briefly.
      await Promise.race([this.leaderChanged.promise, new Promise((r) => setTimeout(r, Math.min(left, 50)))]);
    }
  }

  private deliver(id: bigint, result: ApplyResult): void {
    this.waiters.get(id)?.resolve(result);
  }

  /** Waits until this member has applied everything committed before the call (ReadIndex). */
  async linearizableReadBarrier(): Promise<void> {
    if (this.stopped) throw ErrStopped();
    await this.reads.barrier();
  }

  /**
   * Publishes this member's name and client URLs through Raft, as etcd does at
   * start-up, retrying until it commits (a member can start before a quorum of its
   * peers is up). Clients are served once it has.
   */
  async publish(): Promise<void> {
    for (;;) {
      try {
        await this.propose({
          clusterMemberAttrSet: {
            memberID: this.memberId,
            memberAttributes: { name: this.cfg.name, clientUrls: this.cfg.advertiseClientUrls.map((u) => urlString(u)) },
          },
        });
        return;
      } catch (err) {
        if (this.stopped) throw err;
        this.logger.warn({ err: (err as Error).message }, 'failed to publish local member to cluster through raft');
      }
    }
  }

  members(): Member[] {
    return this.membership.list();
  }

  async status(): Promise<ServerStatus> {
    const me = this.membership.get(this.memberId);
    return {
      leader: this.raft.leader,
      raftIndex: this.raft.committedIndex,
      raftTerm: this.raft.currentTerm,
      raftAppliedIndex: this.applier.applied,
      dbSize: await this.store.dbSize(),
      isLearner: me?.isLearner ?? false,
    };
  }

  /**
   * A leader that stops hands leadership to its most up-to-date voter first (as
   * etcd does), so the cluster does not sit out an election timeout with requests
   * forwarded to a member that is gone. Bounded by two election timeouts.
   */
  private async transferLeadershipForStop(): Promise<void> {
    if (!this.raft.isLeader) return;
    let target: bigint | undefined;
    let best = -1;
    for (const [id, p] of this.raft.raw.status().progress) {
      if (id === this.memberId || p.isLearner || p.match <= best) continue;
      best = p.match;
      target = id;
    }
    if (target === undefined) return;
    this.logger.info({ to: target.toString(16) }, 'leader stopping: transferring leadership');
    this.raft.transferLeadership(target);
    const deadline = Date.now() + 2 * this.cfg.electionMs;
    while (this.raft.leader === this.memberId && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.raft.leader === this.memberId) this.logger.warn({}, 'leadership transfer did not finish before stopping');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.transferLeadershipForStop().catch((err: Error) =>
      this.logger.warn({ err: err.message }, 'leadership transfer before stopping failed'),
    );
    this.stopped = true;
    await this.raft.stop();
    await this.transport.stop();
    await this.applier.drained();
    await this.compactor.idle();
    const err = new EtcdError(ErrStopped().code, ErrStopped().message);
    this.reads.failAll(err);
    this.proposalDeadlines.stop();
    this.appliedWaiter.failAll(err);
    for (const d of this.waiters.values()) d.resolve({ ok: false, error: err });
    await this.store.close();
    await this.raft.closeStorage();
  }
}

/**
 * Makes the transport's peer list equal to the membership: at start-up, after each
 * conf change and after a snapshot replaced the membership. Unchanged peers are
 * left alone (updatePeer with the same URLs does nothing).
 */
function syncPeers(transport: PeerTransport, membership: Membership, self: bigint): void {
  const wanted = new Map(membership.list().filter((m) => m.id !== self).map((m) => [m.id, m]));
  for (const [id, m] of wanted) {
    if (transport.hasPeer(id)) transport.updatePeer(id, m.peerURLs);
    else transport.addPeer(id, m.peerURLs);
  }
  for (const id of transport.peerIds()) if (!wanted.has(id)) transport.removePeer(id);
}
