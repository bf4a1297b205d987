// One whole member in the simulation, wired as src/server/compose.ts wires a real
// one: the real Raft driver (RaftNode), Applier, MvccStore, WatchHub, Lessor with
// its expiry loop, LogCompactor and EtcdServer (proposals, waiters, ReadIndex),
// over simulated ports: the scheduler's clock, the real WAL and snapshot files on a
// simulated file system (sim-wal-disk.ts), a crashable store disk and the
// simulated network. What differs from compose.ts, and why:
// - no peer transport: Raft messages go through SimNetwork; the peer RPCs (lease
//   keep-alive forwarding, promote forwarding) are not simulated and fail at once,
//   so clients send keep-alives and member changes to the leader;
// - a leader's store image is installed into a fresh in-memory database, swapped
//   in atomically (production: restore, fsync, rename; store-dir.ts);
// - no publish, corruption checker, tick advance or gRPC adapters.
// A crash ends an incarnation: its disks lose what was not synced, its timers may
// still fire but nothing it does reaches a disk or the network any more.

import pino from 'pino';
import { type ConfState, type Snapshot, MemoryStorage, RawNode, seededRandom } from '../../src/raft/index.js';
import { ALARM_PREFIX, MvccStore, WatchHub, type MvccOptions } from '../../src/mvcc/index.js';
import { ImageParser } from '../../src/mvcc/state-format.js';
import type { Event } from '../../src/mvcc/types.js';
import { Applier } from '../../src/server/apply/index.js';
import { createAuthState, loadAuthStore } from '../../src/server/auth-setup.js';
import { AlarmStore } from '../../src/server/alarms.js';
import { assertStoreCoversSnapshot } from '../../src/server/bootstrap.js';
import type { Config } from '../../src/server/config.js';
import { EtcdServer } from '../../src/server/etcd-server.js';
import { bindLessor, LeaseCoordinator, LeaseExpiryLoop, type LeaseHost } from '../../src/server/lease/index.js';
import { memberLeaseHost, memberLessor, withStoreImage } from '../../src/server/member-parts.js';
import { LogCompactor } from '../../src/server/log-compactor.js';
import { encodeMemberContext, Membership } from '../../src/server/membership.js';
import { RaftNode } from '../../src/server/raft-node.js';
import type { PeerTransport } from '../../src/server/transport/index.js';
import { decodeSnapshotData, encodeSnapshotData } from '../../src/server/snapshot-data.js';
import { DB_DIR, SimKvDisk } from './sim-kv-disk.js';
import type { SimNetwork } from './sim-network.js';
import { SIM_LOG_STORAGE, SimWalDisk, type OpenedLog } from './sim-wal-disk.js';
import type { Scheduler } from './virtual-time.js';

const silent = pino({ level: 'silent' });

/** What a member needs from the cluster around it. */
export interface MemberEnv {
  sched: Scheduler;
  net: SimNetwork;
  rng: () => number;
  cfg: Config;
  /** The leader lease (compose.ts: on unless ETCD_TS_LEADER_LEASE=off). */
  leaderLease: boolean;
  clusterId: bigint;
  /** When the member's link to `id` came up (strict reconfig check); undefined while down. */
  activeSince(id: bigint): number | undefined;
  /** A member found something that production would stop on (fatal, refused start-up). */
  problem(member: bigint, what: string): void;
  /** A revision this member applied (the run's reference event log is built from these). */
  onEvents(member: bigint, events: Event[], revision: number): void;
  /**
   * The member proposed a lease revoke on its own (the leader's expiry loop):
   * `run` proposes it; the run records it as an operation of the history.
   */
  serverRevoke(member: SimMember, id: bigint, run: () => Promise<unknown>): Promise<unknown>;
  /** An incarnation ended (crash, fatal stop, removal): its clients' calls and streams are over. */
  onDown(member: SimMember): void;
}

/** How a member comes into being the first time. */
export type Birth =
  | { kind: 'founder'; peers: { id: bigint; name: string; peerURLs: string[] }[] }
  | { kind: 'joiner' };

/** The parts of one running incarnation. */
export interface Incarnation {
  readonly n: number;
  alive: boolean;
  server: EtcdServer;
  raft: RaftNode;
  watchHub: WatchHub;
  stores: { current: MvccStore };
  applier: Applier;
  stopTimers(): void;
}

export class SimMember {
  readonly kvDisk: SimKvDisk;
  readonly raftDisk: SimWalDisk;
  current: Incarnation | undefined;
  incarnations = 0;
  /** Removed from the cluster: never started again. */
  removed = false;
  upSince: number | undefined;

  constructor(readonly id: bigint, readonly name: string, readonly peerURLs: string[], private readonly env: MemberEnv, private birth: Birth) {
    this.kvDisk = new SimKvDisk(() => env.rng() * 4, () => env.sched.now());
    this.raftDisk = new SimWalDisk(env.sched, env.rng);
  }

  get up(): boolean {
    return this.current?.alive === true;
  }

  /**
   * Starts an incarnation from what the disks hold; false when start-up refused
   * (reported as a problem). Opening the WAL takes simulated disk time, so a
   * second call while a start is under way (the nemesis healing every member not
   * up) joins it instead of opening the same data dir twice.
   */
  start(): Promise<boolean> {
    this.starting ??= this.startIncarnation().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private starting: Promise<boolean> | undefined;

  private async startIncarnation(): Promise<boolean> {
    const { env } = this;
    const cfg = env.cfg;
    const n = ++this.incarnations;
    let opened: OpenedLog;
    try {
      opened = await this.raftDisk.open({ memberId: this.id, clusterId: env.clusterId }, silent);
    } catch (err) {
      env.problem(this.id, `incarnation ${n} refused to start: ${(err as Error).message}`);
      return false;
    }
    const { log, fresh, snapshot } = opened;
    let inc: Incarnation | undefined;
    const fatal = (what: string): void => {
      env.problem(this.id, `incarnation ${n}: ${what}`);
      if (inc?.alive) this.halt();
    };
    // As compose.ts: an old entry that cannot be read back from the WAL stops the member.
    opened.wal.coldEntries.onFailure = (err) => fatal(`WAL read failed: ${err.message}`);
    const storeOpts: MvccOptions = {
      logger: silent,
      // As compose.ts: --backend-batch-interval / --backend-batch-limit (0: the store's defaults).
      ...(cfg.backendBatchIntervalMs > 0 ? { flushIntervalMs: cfg.backendBatchIntervalMs } : {}),
      ...(cfg.backendBatchLimit > 0 ? { flushMaxOps: cfg.backendBatchLimit } : {}),
      openDb: this.kvDisk.openDb,
      recoverDir: false,
      onStorageFailure: (err) => fatal(`storage failed: ${err.message}`),
    };
    const alive = (): boolean => inc?.alive === true;
    const openStore = async (): Promise<MvccStore> => {
      const store = await MvccStore.open(DB_DIR, { ...storeOpts, openDb: this.kvDisk.openDb });
      store.onEvents((events, revision) => alive() && env.onEvents(this.id, events, revision));
      return store;
    };
    const stores = { current: await openStore() };
    try {
      assertStoreCoversSnapshot(stores.current.consistentIndex(), snapshot?.metadata.index);
    } catch (err) {
      env.problem(this.id, `incarnation ${n} refused to start: ${(err as Error).message}`);
      await stores.current.close();
      await log.close();
      return false;
    }
    const watchHub = new WatchHub(stores.current, { logger: silent });
    const lessor = memberLessor(cfg, stores);
    await bindLessor(lessor, stores.current, silent);
    const membership = new Membership(env.clusterId, this.id);
    membership.maxLearners = cfg.maxLearners;
    if (snapshot) membership.restore(decodeSnapshotData(snapshot.data).membership);
    const storage = opened.storage ?? new MemoryStorage({ ...SIM_LOG_STORAGE, cold: opened.wal.coldEntries });
    const raw = new RawNode({
      id: this.id,
      electionTick: Math.max(1, Math.round(cfg.electionMs / cfg.heartbeatMs)),
      heartbeatTick: 1,
      storage,
      applied: snapshot?.metadata.index ?? 0,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 512,
      checkQuorum: true,
      preVote: cfg.preVote,
      random: seededRandom(Math.floor(env.rng() * 2 ** 32)),
      logger: silent,
    });
    if (fresh && this.birth.kind === 'founder') {
      raw.bootstrap(this.birth.peers.map((p) => ({ id: p.id, context: encodeMemberContext({ ...p, isLearner: false }) })));
    }
    let server: EtcdServer | undefined;
    let raftNode: RaftNode | undefined;
    const notSimulatedCall = (): Promise<never> => Promise.reject(new Error('peer RPCs are not simulated'));
    const notSimulated = (): never => {
      throw new Error('peer RPCs are not simulated');
    };
    const transport = {
      activeSince: (id: bigint) => env.activeSince(id),
      activePeers: () => 0,
      unary: notSimulatedCall,
      stream: notSimulated,
      stop: async () => {},
    } as unknown as PeerTransport;
    const leaseHost = memberLeaseHost(cfg, silent, () => raftNode, () => server, { callPeer: notSimulatedCall, openPeerStream: notSimulated });
    const leases = new LeaseCoordinator(leaseHost, () => lessor);
    const expiryHost: LeaseHost = {
      ...leaseHost,
      propose: (body, caller) =>
        body.leaseRevoke ? env.serverRevoke(this, BigInt(body.leaseRevoke.ID ?? 0), () => leaseHost.propose(body, caller)) : leaseHost.propose(body, caller),
    };
    const leaseExpiry = new LeaseExpiryLoop(expiryHost, () => lessor);
    let confState: ConfState = storage.initialState().confState;
    const compactor = new LogCompactor(
      {
        snapshotCount: cfg.snapshotCount,
        storage,
        wal: opened.wal,
        snapshotter: opened.snapshotter,
        store: () => stores.current,
        membership,
        confState: () => confState,
        logger: silent,
        // Few entries kept below a snapshot: a follower that falls a little behind gets the snapshot.
        catchUpEntries: 10,
      },
      snapshot?.metadata.index ?? 0,
    );
    const alarms = new AlarmStore();
    alarms.load(await stores.current.backend.scanRaw(ALARM_PREFIX));
    const auth = await createAuthState(cfg, stores.current, {
      logger: silent,
      indexApplied: (index) => (applier.applied >= index ? true : server ? server.waitApplied(index) : false),
    });
    const applier: Applier = new Applier(
      stores.current,
      membership,
      lessor,
      {
        applyConfChange: (cc) => {
          confState = raw.applyConfChange(cc);
          server?.onConfChangeApplied();
          return confState;
        },
        membersChanged: () => {},
        removedSelf: () => {
          this.removed = true;
          // etcd stops a removed member a second later (compose.ts).
          env.sched.after(1000, () => inc?.alive && this.halt());
        },
        deliver: (id, result) => server?.deliver(id, result),
        applied: (index) => {
          server?.onApplied(index);
          compactor.maybeSnapshot(index);
        },
        termStarted: (term) => {
          if (raftNode?.isLeader && term === raftNode.currentTerm) lessor.promote(cfg.electionMs);
        },
        fatal: (failure) => fatal(failure.message),
      },
      alarms,
      { logger: silent, auth },
    );
    const sendTransport = env.net.transport(this.id);
    const raft = (raftNode = new RaftNode(
      raw,
      storage,
      {
        clock: env.sched,
        log,
        transport: {
          send: (messages) => alive() && sendTransport.send(messages),
          // As the peer transport's setImmediate: after what this event queued, at the same time.
          sendSoon: (messages) => {
            const later = messages.slice();
            env.sched.after(0, () => alive() && sendTransport.send(later));
          },
        },
      },
      {
        onCommitted: (entries) => applier.push(entries),
        installSnapshot: async (snap) => {
          const { membership: members, image } = decodeSnapshotData(snap.data);
          if (!image) throw new Error(`snapshot at index ${snap.metadata.index} carries no store image`);
          await applier.drained();
          await stores.current.close();
          this.kvDisk.replaceWith(parseImage(image));
          stores.current = await openStore();
          applier.setStore(stores.current);
          await bindLessor(lessor, stores.current, silent);
          alarms.load(await stores.current.backend.scanRaw(ALARM_PREFIX));
          await loadAuthStore(auth.store, stores.current);
          watchHub.setStore(stores.current);
          membership.restore(members);
          confState = snap.metadata.confState;
          return { metadata: snap.metadata, data: encodeSnapshotData({ membership: members }) } satisfies Snapshot;
        },
        prepareSnapshot: (m) => withStoreImage(m, stores.current, silent),
        onReadStates: (states) => server?.onReadStates(states),
        onSoftState: (s) => server?.onSoftState(s),
        onWalSync: () => {},
        onFatal: (err) => fatal(`raft loop failed: ${err.message}`),
      },
      cfg.heartbeatMs,
      silent,
      // As compose.ts: with the leader lease, a restarted member holds its vote for an election timeout.
      { holdVotesMs: env.leaderLease && !fresh ? cfg.electionMs : 0 },
    ));
    server = new EtcdServer({
      cfg, logger: silent, memberId: this.id, clusterId: env.clusterId, stores, membership, raft, applier, compactor,
      transport, watchHub, lessor, leases, leaseExpiry, auth, leaderLease: env.leaderLease,
    });
    inc = {
      n, alive: true, server, raft, watchHub, stores, applier,
      stopTimers: () => {
        leaseExpiry.stop();
        void raft.stop();
      },
    };
    this.current = inc;
    env.net.attach(this.id, raft);
    this.upSince = env.sched.now();
    raft.start();
    leaseExpiry.start();
    return true;
  }

  /** Stops the incarnation where it stands (the process is gone); disks are left as they are. */
  halt(): void {
    const inc = this.current;
    if (!inc || !inc.alive) return;
    inc.alive = false;
    inc.stopTimers();
    this.env.net.detach(this.id);
    this.upSince = undefined;
    this.env.onDown(this);
  }

  /** Halt; at a power cut the disks also lose what was not synced (maybe tearing the last write). */
  crash(kind: 'power' | 'process'): void {
    this.halt();
    this.kvDisk.crash(kind);
    this.raftDisk.crash(kind);
  }
}

/** The key/value pairs of a state-transfer image, keyed as the crashable disk keys them. */
function parseImage(image: Uint8Array): Map<string, [Uint8Array, Uint8Array]> {
  const parser = new ImageParser();
  const out = new Map<string, [Uint8Array, Uint8Array]>();
  for (const item of parser.push(image)) {
    if (item.kind === 'pair') out.set(Buffer.from(item.key).toString('hex'), [item.key.slice(), item.value.slice()]);
  }
  parser.finish();
  return out;
}
