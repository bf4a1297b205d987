// Opening a member's data dir: a fresh one is laid out from the --initial-cluster
// flags; an existing one ignores them and resumes from what it holds (as etcd
// does): member and cluster ids from the WAL metadata, Raft state from the newest
// snapshot plus the WAL records after it.

import { mkdirAll, MkdirError } from '../util/mkdir-all.js';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { MemoryStorage, RawNode, seededRandom, type MemoryStorageOptions } from '../raft/index.js';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import {
  decodeWalMetadata as decodeMetadata, encodeWalMetadata, mkdirDurable, nodeWalFs, syncCreatedDirs, Snapshotter, WAL, WalSnapshotNotFoundError, type WalOptions,
} from '../wal/index.js';
import { type Config, urlString } from './config.js';
import { membersOf, standaloneEntries } from './force-new-cluster.js';
import { clusterIdFor, memberIdFor } from './ids.js';
import { encodeMemberContext, type Member } from './membership.js';
import { joinExistingCluster } from './join.js';
import { migrateEtcdDataDir } from './etcd-import/in-place.js';
import type { PeerDialer } from './tls/peer-dialer.js';

export interface DataDirLayout {
  memberDir: string;
  walDir: string;
  snapDir: string;
  dbDir: string;
}

export function layout(cfg: Config): DataDirLayout {
  const memberDir = join(cfg.dataDir, 'member');
  return {
    memberDir,
    walDir: cfg.walDir || join(memberDir, 'wal'),
    snapDir: join(memberDir, 'snap'),
    dbDir: join(memberDir, 'db'),
  };
}

export interface Booted {
  memberId: bigint;
  clusterId: bigint;
  wal: WAL;
  snapshotter: Snapshotter;
  storage: MemoryStorage;
  raw: RawNode;
  snapshot: Snapshot | undefined;
  /** True when this start created the data dir. */
  fresh: boolean;
  /** A member that joined an existing cluster: the members the cluster named then. */
  joinedMembers?: Member[];
}

/** `dialer`: how the peers named in --initial-cluster are reached when joining (peer TLS). */
export async function bootstrap(cfg: Config, logger: Logger, dialer?: PeerDialer): Promise<Booted> {
  // A data dir etcd 3.4 wrote is imported into ours first (its files go to a backup folder).
  await migrateEtcdDataDir(cfg, logger);
  const dirs = layout(cfg);
  // etcdmain's TouchDirAll: a data dir that cannot be made stops the start with its reason.
  const createdDataDir = await mkdirAll(cfg.dataDir).catch((err: unknown) => {
    throw err instanceof MkdirError ? new Error(`cannot access data directory: ${err.message}`) : err;
  });
  // A data dir made here is in its parent only once that parent is synced.
  await syncCreatedDirs(nodeWalFs, cfg.dataDir, createdDataDir);
  // Durable: a power cut must not take member/ (and the WAL in it) with it later.
  await mkdirDurable(nodeWalFs, dirs.snapDir);
  const snapshotter = new Snapshotter(dirs.snapDir, logger);
  const electionTick = Math.max(1, Math.round(cfg.electionMs / cfg.heartbeatMs));
  const raftConfig = (id: bigint, storage: MemoryStorage, applied: number) => ({
    id,
    electionTick,
    heartbeatTick: 1,
    storage,
    applied,
    maxSizePerMsg: 1024 * 1024,
    maxInflightMsgs: 512,
    checkQuorum: true,
    preVote: cfg.preVote,
    random: seededRandom(Number(id & 0xffffffffn) ^ Date.now()),
    logger,
  });

  if (await WAL.exists(dirs.walDir)) {
    const { snapshot, opened } = await openFromNewestSnapshot(dirs.walDir, snapshotter, logger, { unsafeNoFsync: cfg.unsafeNoFsync });
    const { wal, metadata, hardState } = opened;
    let { entries } = opened;
    const { memberId, clusterId } = decodeMetadata(metadata);
    raiseCommitToSnapshot(hardState, snapshot);
    if (cfg.forceNewCluster) {
      entries = entries.filter((e) => e.index <= hardState.commit);
      const forced = standaloneEntries({
        self: memberId,
        members: membersOf(snapshot?.metadata.confState, entries),
        commit: hardState.commit,
        term: hardState.term,
        selfContext: encodeMemberContext({ id: memberId, name: cfg.name, peerURLs: cfg.initialAdvertisePeerUrls.map(urlString), isLearner: false }),
      });
      if (forced.length > 0) hardState.commit = forced[forced.length - 1]!.index;
      await wal.save(hardState, forced);
      entries = [...entries, ...forced];
      logger.warn(
        { 'local-member-id': memberId.toString(16), 'removed-members': forced.length, 'commit-index': hardState.commit },
        'forcing restart member in a one-member cluster (--force-new-cluster)',
      );
    }
    const storage = restartStorage(snapshot, hardState, entries, { cold: wal.coldEntries });
    logger.info(
      {
        'local-member-id': memberId.toString(16),
        'cluster-id': clusterId.toString(16),
        'commit-index': hardState.commit,
        term: hardState.term,
        entries: entries.length,
      },
      'restarting local member',
    );
    // Applied starts at the snapshot: entries after it are handed out again so that
    // membership is rebuilt; the applier skips KV effects already in the store.
    const raw = new RawNode(raftConfig(memberId, storage, snapshot?.metadata.index ?? 0));
    return { memberId, clusterId, wal, snapshotter, storage, raw, snapshot, fresh: false };
  }

  if (cfg.initialClusterState === 'existing') {
    const joined = await joinExistingCluster(cfg, logger, dialer);
    const wal = await WAL.create(dirs.walDir, encodeWalMetadata(joined.memberId, joined.clusterId), { logger, unsafeNoFsync: cfg.unsafeNoFsync });
    const storage = new MemoryStorage({ cold: wal.coldEntries });
    // No configuration of its own: the leader's log (or snapshot) brings it.
    const raw = new RawNode(raftConfig(joined.memberId, storage, 0));
    logger.info(
      { 'local-member-id': joined.memberId.toString(16), 'cluster-id': joined.clusterId.toString(16), members: joined.members.length },
      'joining an existing cluster',
    );
    return {
      memberId: joined.memberId, clusterId: joined.clusterId, wal, snapshotter, storage, raw, snapshot: undefined, fresh: true,
      joinedMembers: joined.members,
    };
  }
  const peers = [...cfg.initialCluster].map(([name, urls]) => ({
    name,
    peerURLs: urls,
    id: memberIdFor(urls, cfg.initialClusterToken),
  }));
  const seen = new Set<bigint>();
  for (const p of peers) {
    if (seen.has(p.id)) throw new Error(`member exists with identical ID ${p.id.toString(16)}`);
    seen.add(p.id);
  }
  const memberId = peers.find((p) => p.name === cfg.name)!.id;
  const clusterId = clusterIdFor(peers.map((p) => p.id));
  const wal = await WAL.create(dirs.walDir, encodeWalMetadata(memberId, clusterId), { logger, unsafeNoFsync: cfg.unsafeNoFsync });
  const storage = new MemoryStorage({ cold: wal.coldEntries });
  const raw = new RawNode(raftConfig(memberId, storage, 0));
  raw.bootstrap(
    peers.map((p) => ({ id: p.id, context: encodeMemberContext({ ...p, isLearner: false }) })),
  );
  logger.info(
    { 'local-member-id': memberId.toString(16), 'cluster-id': clusterId.toString(16), members: peers.length },
    'starting local member',
  );
  return { memberId, clusterId, wal, snapshotter, storage, raw, snapshot: undefined, fresh: true };
}

/**
 * Commit-index-only hard states are not written on their own (raft-node.ts), so the
 * last one on disk may trail a snapshot taken since; a snapshot is committed state.
 */
export function raiseCommitToSnapshot(hardState: HardState, snapshot: Snapshot | undefined): void {
  if (snapshot && hardState.commit < snapshot.metadata.index) hardState.commit = snapshot.metadata.index;
}

/** The Raft storage a restarting member resumes from: the snapshot, then the WAL's hard state and entries after it. */
export function restartStorage(
  snapshot: Snapshot | undefined,
  hardState: HardState,
  entries: Entry[],
  opts: MemoryStorageOptions = {},
): MemoryStorage {
  const storage = new MemoryStorage(opts);
  if (snapshot) storage.applySnapshot(snapshot);
  storage.setHardState(hardState);
  storage.append(entries);
  return storage;
}

/** The store misses entries the WAL no longer has: serving it would serve a gap. */
export class StoreBehindSnapshotError extends Error {
  constructor(consistentIndex: number, snapshotIndex: number) {
    super(
      `the store's consistent index ${consistentIndex} is below the snapshot index ${snapshotIndex}: ` +
        'entries in between are in neither the store nor the WAL (store data lost, e.g. a power loss ' +
        'before it was synced, or a member/db from elsewhere); refusing to start',
    );
    this.name = 'StoreBehindSnapshotError';
  }
}

/**
 * Start-up check: the WAL replays only entries after the newest snapshot, so
 * the store must hold every entry up to it.
 */
export function assertStoreCoversSnapshot(consistentIndex: number, snapshotIndex: number | undefined): void {
  if (snapshotIndex !== undefined && consistentIndex < snapshotIndex) {
    throw new StoreBehindSnapshotError(consistentIndex, snapshotIndex);
  }
}

/**
 * Opens the WAL from the newest snapshot it has a marker for. A crash between
 * saving a snapshot file and writing its WAL marker leaves a newest snapshot the
 * WAL never heard of; the one before it (or none) is then where replay starts.
 */
export async function openFromNewestSnapshot(
  walDir: string,
  snapshotter: Snapshotter,
  logger: Logger,
  walOpts: Omit<WalOptions, 'logger'> = {},
): Promise<{ snapshot: Snapshot | undefined; opened: Awaited<ReturnType<typeof WAL.open>> }> {
  for await (const snapshot of snapshotter.newestFirst()) {
    const { index, term } = snapshot.metadata;
    try {
      return { snapshot, opened: await WAL.open(walDir, { index, term }, { ...walOpts, logger }) };
    } catch (err) {
      if (!(err instanceof WalSnapshotNotFoundError)) throw err;
      logger.warn({ index, term }, 'snapshot has no WAL marker (crash while saving it); trying an older one');
    }
  }
  return { snapshot: undefined, opened: await WAL.open(walDir, undefined, { ...walOpts, logger }) };
}
