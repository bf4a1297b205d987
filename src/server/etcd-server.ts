// EtcdServer: propose → wait for apply → answer, and ReadIndex for linearizable
// reads, over the parts compose.ts builds (the Raft driver, the WAL, the MVCC
// store, the applier, the lessor). The API adapters in ./api never see this class:
// they talk to the narrow ports of api/ports.ts, which it satisfies (main.ts
// hands it over; the KV requests, Status, HashKV, metrics are answered here).

import type { Logger } from 'pino';
import { type ReadState, type SoftState, StateType } from '../raft/types.js';
import type { MvccStore, WatchHub } from '../mvcc/index.js';
import type { RequestCaller } from '../pb/index.js';
import type { ResponseHeader } from '../pb/types.js';
import { type Lessor, monotonicClock, toLeaseId } from '../lease/index.js';
import type { Applier, ApplyResult } from './apply/index.js';
import type { AuthApplyState } from './apply/auth.js';
import { AuthService } from './auth-service.js';
import type { LeaseCoordinator, LeaseExpiryLoop } from './lease/index.js';
import { type Config, urlString } from './config.js';
import type { InternalRequestBody } from './proposal.js';
import { ErrStopped, EtcdError } from './errors.js';
import { AutoCompactor } from './auto-compactor.js';
import type { LogCompactor } from './log-compactor.js';
import type { Member, Membership } from './membership.js';
import { ServerMetrics } from './metrics.js';
import { MemberKV } from './member-kv.js';
import type { RaftNode } from './raft-node.js';
import type { PeerTransport } from './transport/index.js';
import { ReadIndexer } from './read-index.js';
import { LeaderLease, leaderLeaseMs } from './leader-lease.js';
import { LeadershipConfirmation } from './leadership-confirmation.js';
import { Proposer, type RawRequest } from './proposer.js';
import { IndexWaiter } from './waiters.js';
import { transferLeadershipBeforeStop } from './leader-transfer.js';
import { Maintenance } from './maintenance.js';
import { MemberChanges } from './member-changes.js';
import { forwardPromote } from './member-peer-service.js';

/** How long a request may wait for its entry to commit and apply (etcd: 5 s + 2 election timeouts). */
export const requestTimeoutMs = (cfg: Config): number => 5000 + 2 * cfg.electionMs;


/** What composeServer hands the server. */
export interface ServerParts {
  cfg: Config;
  logger: Logger;
  memberId: bigint;
  clusterId: bigint;
  stores: { current: MvccStore };
  membership: Membership;
  raft: RaftNode;
  applier: Applier;
  compactor: LogCompactor;
  transport: PeerTransport;
  watchHub: WatchHub;
  lessor: Lessor;
  leases: LeaseCoordinator;
  leaseExpiry: LeaseExpiryLoop;
  /** The replicated auth store and this member's token provider (the applier's too). */
  auth: AuthApplyState;
  /** Whether keep-alives may confirm the leadership under a leader lease (leader-lease.ts; composeServer: unless ETCD_TS_LEADER_LEASE=off). */
  leaderLease?: boolean;
}

export class EtcdServer {
  private readonly appliedWaiter: IndexWaiter;
  private readonly proposer: Proposer;
  private readonly reads: ReadIndexer;
  /** Whether this member still leads, for lease keep-alives (leadership-confirmation.ts). */
  private readonly leadership: LeadershipConfirmation;
  /** Status, hashes, alarms and quota, MoveLeader, Defragment (maintenance.ts). */
  readonly maintenance: Maintenance;
  private stopped = false;
  readonly metrics: ServerMetrics;
  /** See requestTimeoutMs(). */
  readonly requestTimeoutMs: number;

  readonly cfg: Config;
  readonly logger: Logger;
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly membership: Membership;
  /** Every watcher of this member, fed from the store it applies to. */
  readonly watchHub: WatchHub;
  readonly leases: LeaseCoordinator;
  private readonly leaseExpiry: LeaseExpiryLoop;
  private readonly stores: { current: MvccStore };
  private readonly raft: RaftNode;
  private readonly applier: Applier;
  private readonly compactor: LogCompactor;
  private readonly transport: PeerTransport;
  private readonly lessor: Lessor;
  /** MemberAdd/Remove/Update/Promote (member-changes.ts). */
  readonly memberChanges: MemberChanges;
  /** Users, roles, tokens and the checks (auth-service.ts). */
  readonly auth: AuthService;
  /** The KV requests (api/ports.ts RaftKV): member-kv.ts, over this member's propose, store and reads. */
  readonly kv = new MemberKV(this);

  /** Built by composeServer (compose.ts), which wires the parts together. */
  constructor(parts: ServerParts) {
    ({
      cfg: this.cfg, logger: this.logger, memberId: this.memberId, clusterId: this.clusterId, stores: this.stores,
      membership: this.membership, raft: this.raft, applier: this.applier, compactor: this.compactor,
      transport: this.transport, watchHub: this.watchHub, lessor: this.lessor, leases: this.leases,
      leaseExpiry: this.leaseExpiry,
    } = parts);
    // --metrics extensive: also the server-side gRPC handling-time histograms.
    this.metrics = new ServerMetrics({ extensive: this.cfg.metrics === 'extensive' });
    const cfg = this.cfg;
    const applier = this.applier;
    const memberId = this.memberId;
    this.requestTimeoutMs = requestTimeoutMs(cfg);
    this.appliedWaiter = new IndexWaiter(applier.applied);
    this.proposer = new Proposer({
      memberId,
      maxRequestBytes: cfg.maxRequestBytes,
      requestTimeoutMs: this.requestTimeoutMs,
      metrics: this.metrics,
      propose: (data) => this.raft.propose(data),
      proposeConfChange: (cc) => this.raft.proposeConfChange(cc),
      committedIndex: () => this.raft.committedIndex,
      appliedIndex: () => applier.applied,
    });
    this.maintenance = new Maintenance({
      memberId,
      quotaBackendBytes: cfg.quotaBackendBytes,
      heartbeatMs: cfg.heartbeatMs,
      logger: this.logger,
      store: () => this.store,
      raft: this.raft,
      membership: this.membership,
      alarms: applier.alarms,
      appliedIndex: () => applier.applied,
      propose: (body) => this.propose(body),
      stopped: () => this.stopped,
    });
    this.memberChanges = new MemberChanges({
      memberId,
      membership: this.membership,
      strictReconfigCheck: cfg.strictReconfigCheck,
      proposeConfChange: (make) => {
        if (this.stopped) return Promise.reject(ErrStopped());
        return this.proposer.proposeConfChange(make);
      },
      progress: () => (this.raft.isLeader ? this.raft.raw.status().progress : undefined),
      activeSince: (id) => this.transport.activeSince(id),
      forwardPromote: (id) =>
        forwardPromote(
          {
            memberId,
            leader: () => this.raft.leader,
            unary: (to, path, ser, de, req, timeoutMs) => this.transport.unary(to, path, ser, de, req, timeoutMs),
            timeoutMs: this.requestTimeoutMs,
          },
          id,
        ),
    });
    this.leadership = new LeadershipConfirmation({
      raft: this.raft,
      appliedIndex: () => this.appliedWaiter.index,
      round: () => this.reads.barrier(),
      lease: parts.leaderLease === true
        ? new LeaderLease(() => monotonicClock.now(), leaderLeaseMs(cfg.electionMs, cfg.heartbeatMs))
        : undefined,
    });
    this.reads = new ReadIndexer(
      (ctx) => this.raft.readIndex(ctx),
      (index) => this.appliedWaiter.wait(index),
      this.requestTimeoutMs,
      Math.max(100, cfg.electionMs / 2),
      {
        memberId,
        leader: () => this.raft.leader,
        // See read-index.ts: long enough for an election (randomized timeout, pre-vote).
        noLeaderWaitMs: Math.min(this.requestTimeoutMs, 3 * cfg.electionMs),
        ...this.leadership.readIndexHooks(),
      },
    );
    this.auth = new AuthService({
      store: parts.auth.store,
      tokens: parts.auth.tokens,
      bcryptCost: cfg.bcryptCost,
      logger: this.logger,
      propose: (body, caller) => this.propose(body, undefined, caller),
      readBarrier: () => this.linearizableReadBarrier(),
      leaseKeys: (id) => this.lessor.lookup(toLeaseId(id))?.keys ?? [],
    });
    this.autoCompactor = new AutoCompactor(cfg.autoCompaction ?? { mode: 'periodic', retention: 0 }, {
      rev: () => this.store.currentRevision(),
      isLeader: () => this.raft.isLeader,
      compact: async (rev) => { await this.kv.compact({ revision: BigInt(rev), physical: false }); },
      log: this.logger,
    });
    this.autoCompactor.start();
  }

  /** --auto-compaction-*: proposes compactions while this member leads. */
  private readonly autoCompactor: AutoCompactor;


  private soleVoterChecked = false;

  /** The applier moved the applied index. */
  onApplied(index: number): void {
    this.campaignIfSoleVoter();
    this.appliedWaiter.advance(index);
    this.metrics.proposalsApplied.set(index);
  }

  /** ReadIndex answers from the Raft driver. */
  onReadStates(states: ReadState[]): void {
    this.reads.onReadStates(states);
  }

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

  /** When this member saw the current leader elected (epoch ms; /v2/stats/self's leaderInfo). */
  leaderSinceMs = Date.now();
  private lastLeader = 0n;

  /** Raft's soft state changed (from the Raft driver). */
  onSoftState(s: SoftState): void {
    if (s.lead !== this.lastLeader) {
      this.lastLeader = s.lead;
      this.leaderSinceMs = Date.now();
    }
    this.logger.info(
      { 'local-member-id': this.memberId.toString(16), leader: s.lead.toString(16), state: StateType[s.raftState] },
      s.lead === 0n ? 'raft lost leader' : 'raft elected leader',
    );
    this.metrics.hasLeader.set(s.lead !== 0n ? 1 : 0);
    this.metrics.isLeader.set(s.raftState === StateType.Leader ? 1 : 0);
    // Only a leader's leases expire; it starts counting once it has applied its first entry.
    if (s.raftState !== StateType.Leader) this.lessor.demote();
    this.reads.onLeader(s.lead);
    if (s.lead !== 0n) {
      this.metrics.leaderChanges.inc();
      this.proposer.leaderElected();
    }
  }

  /** Whether entry `index` is applied here, waiting at most a request timeout for it. */
  async waitApplied(index: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.requestTimeoutMs)));
    try {
      return await Promise.race([this.appliedWaiter.wait(index).then(() => true, () => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves once everything committed so far is applied here. On a leader that
   * includes what a follower may have committed from its hint before this
   * leader counted it (raft/persisted-hint.ts): a lease that follower granted
   * is then known here.
   */
  waitAppliedCommitted(): Promise<void> {
    return this.appliedWaiter.wait(this.raft.committedNow);
  }

  nextRequestId(): bigint {
    return this.proposer.nextRequestId();
  }

  /** Resolves when a leader is elected or changes, or after timeoutMs. */
  leaderChange(timeoutMs: number): Promise<void> {
    return this.proposer.leaderChange(timeoutMs);
  }

  /** The MVCC store (replaced as a whole when a snapshot from the leader is installed). */
  get store(): MvccStore {
    return this.stores.current;
  }

  get leader(): bigint {
    return this.raft.leader;
  }

  /** Whether this member is a learner, as the applied membership says (/readyz non_learner). */
  isLearner(): boolean {
    return this.membership.get(this.memberId)?.isLearner ?? false;
  }

  get isLeader(): boolean {
    return this.raft.isLeader;
  }

  /** The current Raft term (what response headers carry as raft_term). */
  get term(): number {
    return this.raft.currentTerm;
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
   * Proposes a request through Raft and resolves with its apply result (see
   * proposer.ts). `raw`, when given, is the request's own wire bytes.
   */
  propose(body: InternalRequestBody, raw?: RawRequest, caller?: RequestCaller): Promise<unknown> {
    if (this.stopped) return Promise.reject(ErrStopped());
    return this.proposer.propose(body, raw, caller);
  }

  /** The applier's result for request `id`, to its proposer if that is this member. */
  deliver(id: bigint, result: ApplyResult): void {
    this.proposer.deliver(id, result);
  }

  /**
   * Resolves once a quorum has confirmed that this member leads and everything
   * committed before the call is applied here; rejects when that cannot be had
   * within the request timeout. A ReadIndex round, or none while the leader
   * lease holds (leadership-confirmation.ts).
   */
  confirmLeadership(): Promise<void> {
    if (this.stopped) return Promise.reject(ErrStopped());
    return this.leadership.confirm();
  }

  /** The leader lease this member would use now (term, ms left; 0: none), for the simulation's check. */
  leaderLeaseNow(): { term: number; remainingMs: number } {
    return this.leadership.leaseNow();
  }

  /** A membership change was applied: it ends the leader lease. */
  onConfChangeApplied(): void {
    this.leadership.onConfChangeApplied();
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

  memberAdd(peerURLs: string[], isLearner: boolean): Promise<{ member: Member; members: Member[] }> {
    return this.memberChanges.add(peerURLs, isLearner);
  }

  memberRemove(id: bigint): Promise<Member[]> {
    return this.memberChanges.remove(id);
  }

  memberUpdate(id: bigint, peerURLs: string[]): Promise<Member[]> {
    return this.memberChanges.update(id, peerURLs);
  }

  memberPromote(id: bigint): Promise<Member[]> {
    return this.memberChanges.promote(id);
  }

  /** The active alarms' names ("NOSPACE", "CORRUPT"), for /health and /readyz. */
  activeAlarms(): string[] {
    return this.maintenance.activeAlarms();
  }

  /** /metrics: the gauges read from state at scrape time are refreshed first. */
  async scrapeMetrics(): Promise<{ contentType: string; body: string }> {
    const st = await this.maintenance.status();
    this.metrics.dbSize.set(st.dbSize);
    this.metrics.proposalsCommitted.set(st.raftIndex);
    const w = this.watchHub.stats();
    this.metrics.watchers.set(w.synced + w.unsynced + w.victims);
    this.metrics.slowWatchers.set(w.unsynced + w.victims);
    this.metrics.watchVictimized.set(w.victimized);
    return this.metrics.exposition();
  }

  private readonly stopHooks: (() => void)[] = [];

  /** Runs fn when the server stops (API adapters clear their timers with it). */
  onStop(fn: () => void): void {
    this.stopHooks.push(fn);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    const raft = this.raft;
    await transferLeadershipBeforeStop(
      {
        memberId: this.memberId,
        isLeader: () => raft.isLeader,
        leader: () => raft.leader,
        progress: () => raft.raw.status().progress,
        transferLeadership: (to) => raft.transferLeadership(to),
        electionMs: this.cfg.electionMs,
      },
      this.logger,
    ).catch((err: Error) =>
      this.logger.warn({ err: err.message }, 'leadership transfer before stopping failed'),
    );
    this.stopped = true;
    this.proposer.refuseNew();
    for (const fn of this.stopHooks.splice(0)) fn();
    this.leaseExpiry.stop();
    this.auth.stop();
    await this.autoCompactor.stop();
    this.lessor.demote();
    await this.raft.stop();
    await this.transport.stop();
    await this.applier.drained();
    await this.compactor.idle();
    const err = new EtcdError(ErrStopped().code, ErrStopped().message);
    this.reads.failAll(err);
    this.appliedWaiter.failAll(err);
    this.proposer.failPending(err);
    this.watchHub.close();
    await this.store.close();
    await this.raft.closeStorage();
  }
}
