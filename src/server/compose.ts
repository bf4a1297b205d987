// Builds a member: bootstrap (WAL, snapshot, ids), the MVCC store, watch hub and
// lessor, the peer transport, the applier and the Raft driver, wired to one
// EtcdServer. Everything here is composition; behaviour lives in the parts.

import type { Logger } from 'pino';
import type { ReadState, SoftState } from '../raft/types.js';
import { ALARM_PREFIX, MvccStore, recoverStoreDir, WatchHub, type MvccOptions } from '../mvcc/index.js';
import { Applier } from './apply/index.js';
import { createAuthState, loadAuthStore } from './auth-setup.js';
import { AlarmStore } from './alarms.js';
import { CorruptionChecker, corruptionPeerService } from './corruption.js';
import { assertStoreCoversSnapshot, bootstrap, layout } from './bootstrap.js';
import type { Config } from './config.js';
import { EtcdServer, requestTimeoutMs } from './etcd-server.js';
import { leaderLeaseMs } from './leader-lease.js';
import { fatalStopper } from './fatal-stop.js';
import { bindLessor, LeaseCoordinator, LeaseExpiryLoop, leasePeerService } from './lease/index.js';
import { memberLeaseHost, memberLessor, withStoreImage } from './member-parts.js';
import { LogCompactor } from './log-compactor.js';
import { Membership } from './membership.js';
import type { ServerMetrics } from './metrics.js';
import { RaftNode } from './raft-node.js';
import { systemClock, walLog } from './raft-ports.js';
import { startTickAdvance } from './tick-advance.js';
import { decodeSnapshotData, encodeSnapshotData, installStoreImage } from './snapshot-data.js';
import { PeerTransport } from './transport/index.js';
import { membershipPeerService } from './member-peer-service.js';
import { peerTlsSide } from './tls/tls-side.js';

/**
 * Keep-alives confirm the leadership under a leader lease (src/server/leader-lease.ts)
 * instead of a ReadIndex round each; ETCD_TS_LEADER_LEASE=off gives every keep-alive
 * its own round (a machine whose clocks may drift apart by more than 10% within an
 * election timeout should). Read once.
 */
export const LEADER_LEASE = process.env.ETCD_TS_LEADER_LEASE !== 'off';

export async function composeServer(cfg: Config, logger: Logger): Promise<EtcdServer> {
  if (cfg.unsafeNoFsync) {
    logger.warn(
      { 'unsafe-no-fsync': true },
      'UNSAFE: --unsafe-no-fsync is set: the WAL and the backend are not fsynced; a crash or power loss WILL lose acknowledged writes. Never use it in production.',
    );
  }
  // Peer TLS first: joining a cluster already dials the peers.
  const peerTls = peerTlsSide(cfg, logger);
  const booted = await bootstrap(cfg, logger, peerTls.dialer);
  const dirs = layout(cfg);
  await recoverStoreDir(dirs.dbDir);
  let server: EtcdServer | undefined;
  // A failed WAL or LevelDB write, a snapshot we cannot install, an entry we
  // cannot apply: one orderly fatal stop, exit non-zero (fatal-stop.ts).
  const fatalStop = fatalStopper({ logger, stop: () => server?.stop() ?? Promise.resolve(), exit: (code) => process.exit(code) });
  // An old log entry that cannot be read back from the WAL as written: stop, as for a failed write.
  booted.wal.coldEntries.onFailure = (err) => fatalStop(err, { reason: 'WAL read failed' });
  const storeOpts: MvccOptions = {
    logger,
    // --backend-batch-interval / --backend-batch-limit (0: the store's defaults) and the compaction batch size.
    ...(cfg.backendBatchIntervalMs > 0 ? { flushIntervalMs: cfg.backendBatchIntervalMs } : {}),
    ...(cfg.backendBatchLimit > 0 ? { flushMaxOps: cfg.backendBatchLimit } : {}),
    ...(cfg.compactionBatchLimit > 0 ? { compactBatchLimit: cfg.compactionBatchLimit } : {}),
    onStorageFailure: (err) => fatalStop(err, { reason: 'storage failed' }),
    unsafeNoFsync: cfg.unsafeNoFsync,
  };
  // Replaced as a whole when a snapshot from the leader is installed.
  const stores = { current: await MvccStore.open(dirs.dbDir, storeOpts) };
  try {
    // Never serve a gap: the WAL replays only what follows the newest snapshot.
    assertStoreCoversSnapshot(stores.current.consistentIndex(), booted.snapshot?.metadata.index);
  } catch (err) {
    await stores.current.close().catch(() => {});
    await booted.wal.close().catch(() => {});
    throw err;
  }
  const watchHub = new WatchHub(stores.current, { logger });
  const lessor = memberLessor(cfg, stores);
  await bindLessor(lessor, stores.current, logger);
  const membership = new Membership(booted.clusterId, booted.memberId);
  membership.maxLearners = cfg.maxLearners;
  if (booted.snapshot) membership.restore(decodeSnapshotData(booted.snapshot.data).membership);
  let raftNode: RaftNode | undefined;
  // Removed from the cluster (its own removal applied, or a peer refusing it as
  // removed): as etcd 3.4.23 (recorded), stop a second later (the commit reaches the
  // others first), with etcd's message, and exit 0.
  let removing = false;
  const stopRemoved = (): void => {
    if (removing) return;
    removing = true;
    setTimeout(() => {
      logger.error({ 'local-member-id': booted.memberId.toString(16) }, 'the member has been permanently removed from the cluster');
      void (server?.stop() ?? Promise.resolve())
        .catch((err: Error) => logger.error({ err: err.message }, 'error while stopping a removed member'))
        .finally(() => {
          logger.flush();
          process.exit(0);
        });
    }, 1000).unref();
  };
  const transport = new PeerTransport({
    localId: booted.memberId,
    clusterId: booted.clusterId,
    listenUrls: cfg.listenPeerUrls,
    logger,
    onMessage: (m) => raftNode?.step(m),
    onUnreachable: (id) => raftNode?.reportUnreachable(id),
    onSnapshotStatus: (id, ok) => raftNode?.reportSnapshot(id, ok),
    isRemoved: (id) => membership.isRemoved(id),
    // GET /members on the peer port (etcd's peer handler).
    members: () => membership.list(),
    onRemovedByPeer: () => stopRemoved(),
    dialer: peerTls.dialer,
    ...(peerTls.side ? { acceptor: peerTls.side.acceptor } : {}),
    // A MsgApp carries 1 MiB of entries, or one entry of up to --max-request-bytes.
    limits: { maxMessageBytes: Math.max(64 * 1024 * 1024, 2 * cfg.maxRequestBytes + 2 * 1024 * 1024) },
  });
  const leaseHost = memberLeaseHost(cfg, logger, () => raftNode, () => server, {
    callPeer: (id, path, ser, de, req, timeoutMs) => transport.unary(id, path, ser, de, req, timeoutMs),
    openPeerStream: (id, path, ser, de) => transport.stream(id, path, ser, de),
  });
  const leases = new LeaseCoordinator(leaseHost, () => lessor);
  const leaseExpiry = new LeaseExpiryLoop(leaseHost, () => lessor);
  transport.addService(...leasePeerService(leaseHost, leases, (call, cb, what) => transport.admit(call, cb, what)));
  transport.addService(...corruptionPeerService(
    (rev) => stores.current.hashKV(rev),
    (revision) => server!.header(revision),
    (call, cb, what) => transport.admit(call, cb, what),
  ));
  transport.addService(
    ...membershipPeerService(
      () => ({ clusterId: booted.clusterId, members: membership.list() }),
      (id) => server!.memberChanges.promoteAsLeader(id),
      (call, cb, what) => transport.admit(call, cb, what),
    ),
  );
  // A member joining an existing cluster reaches its peers before its log names them.
  for (const m of booted.joinedMembers ?? []) if (m.id !== booted.memberId) transport.addPeer(m.id, m.peerURLs);
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
      maxSnapshots: cfg.maxSnapshots,
      maxWals: cfg.maxWals,
    },
    booted.snapshot?.metadata.index ?? 0,
  );
  const metricsOf = (): ServerMetrics | undefined => server?.metrics;
  // Replicated like the keys: reloaded whenever the store is (start-up, snapshot install).
  const alarms = new AlarmStore();
  alarms.load(await stores.current.backend.scanRaw(ALARM_PREFIX));
  const auth = await createAuthState(cfg, stores.current, {
    logger,
    // A simple token names the entry that made it: wait (bounded) until it is applied here.
    indexApplied: (index) => {
      if (applier.applied >= index) return true;
      return server ? server.waitApplied(index) : false;
    },
  });
  const applier = new Applier(
    stores.current,
    membership,
    lessor,
    {
      applyConfChange: (cc) => {
        confState = booted.raw.applyConfChange(cc);
        server?.onConfChangeApplied();
        // The other members apply a membership change as soon as they hear of its commit.
        raftNode?.flushCommitNotices();
        return confState;
      },
      membersChanged: () => syncPeers(transport, membership, booted.memberId),
      removedSelf: () => stopRemoved(),
      deliver: (id, result) => server?.deliver(id, result),
      applied: (index) => {
        server?.onApplied(index);
        compactor.maybeSnapshot(index);
      },
      // A follower that has not applied an auth change refuses requests with the old
      // revision: its commit notice goes out now, not after the notice delay.
      authChanged: () => raftNode?.flushCommitNotices(),
      termStarted: (term) => {
        // Everything of earlier terms is applied: a new leader's leases start counting.
        if (raftNode?.isLeader && term === raftNode.currentTerm) lessor.promote(cfg.electionMs);
      },
      fatal: (failure) => fatalStop(failure, { index: failure.index }),
    },
    alarms,
    // --experimental-warning-apply-duration: "apply request took too long".
    { warningApplyDurationMs: cfg.warningApplyDurationMs, logger, onSlowApply: () => metricsOf()?.slowApplies.inc(), auth },
  );
  // With the leader lease, a restarted member holds its vote for an election timeout (leader-lease.ts).
  const holdVotesMs = LEADER_LEASE && !booted.fresh ? cfg.electionMs : 0;
  const raft = (raftNode = new RaftNode(
    booted.raw,
    booted.storage,
    { clock: systemClock, log: walLog(booted.wal, booted.snapshotter), transport },
    {
      onCommitted: (entries) => applier.push(entries),
      installSnapshot: async (snap) => {
        const { membership: members, image } = decodeSnapshotData(snap.data);
        if (!image) throw new Error(`snapshot at index ${snap.metadata.index} from the leader carries no store image`);
        await applier.drained();
        stores.current = await installStoreImage(dirs.dbDir, image, stores.current, logger, storeOpts);
        applier.setStore(stores.current);
        await bindLessor(lessor, stores.current, logger);
        alarms.load(await stores.current.backend.scanRaw(ALARM_PREFIX));
        await loadAuthStore(auth.store, stores.current);
        watchHub.setStore(stores.current);
        membership.restore(members);
        syncPeers(transport, membership, booted.memberId);
        confState = snap.metadata.confState;
        return { metadata: snap.metadata, data: encodeSnapshotData({ membership: members }) };
      },
      prepareSnapshot: (m) => withStoreImage(m, stores.current, logger),
      onReadStates: (states: ReadState[]) => server?.onReadStates(states),
      onSoftState: (s: SoftState) => server?.onSoftState(s),
      onWalSync: (seconds) => metricsOf()?.walFsync.observe(seconds),
      onFatal: (err) => fatalStop(err),
    },
    cfg.heartbeatMs,
    logger,
    { holdVotesMs },
  ));
  if (LEADER_LEASE) {
    logger.info(
      { 'leader-lease-ms': leaderLeaseMs(cfg.electionMs, cfg.heartbeatMs), 'hold-votes-ms': holdVotesMs },
      'leader lease on: lease keep-alives confirm the leadership without a round trip while it holds (ETCD_TS_LEADER_LEASE=off turns it off)',
    );
  }
  server = new EtcdServer({
    cfg, logger, memberId: booted.memberId, clusterId: booted.clusterId, stores, membership, raft, applier, compactor,
    transport, watchHub, lessor, leases, leaseExpiry, auth, leaderLease: LEADER_LEASE,
  });
  raft.start();
  if (cfg.initialElectionTickAdvance) {
    // etcd's adjustTicks: once peers are connected, the first election comes ~2 ticks later.
    const cancelAdvance = startTickAdvance({
      clock: systemClock,
      electionTicks: Math.round(cfg.electionMs / cfg.heartbeatMs),
      activePeers: () => transport.activePeers(),
      leaderKnown: () => raft.leader !== 0n,
      advance: (n) => raft.advanceTicks(n),
      log: logger,
    });
    server.onStop(cancelAdvance);
  } else {
    logger.info({ 'election-ticks': Math.round(cfg.electionMs / cfg.heartbeatMs) }, 'skipping initial election tick advance');
  }
  leaseExpiry.start();
  const corruption = new CorruptionChecker({
    memberId: booted.memberId,
    logger,
    peers: () => membership.list().map((m) => m.id).filter((id) => id !== booted.memberId),
    hashKV: (rev) => stores.current.hashKV(rev),
    callPeer: (id, path, ser, de, req, timeoutMs) => transport.unary(id, path, ser, de, req, timeoutMs),
    isLeader: () => raft.isLeader,
    propose: (body) => server!.propose(body),
  });
  if (cfg.initialCorruptCheck) await initialCorruptCheck(server, corruption, cfg);
  corruption.start(cfg.corruptCheckTimeMs);
  server.onStop(() => corruption.stop());
  server.onStop(() => peerTls.side?.stop());
  return server;
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
  // Only removed members are dropped: a joining member knows peers (from the cluster
  // it joined) that the part of the log it has applied does not name yet.
  for (const id of transport.peerIds()) if (!wanted.has(id) && membership.isRemoved(id)) transport.removePeer(id);
}

/**
 * --experimental-initial-corrupt-check: once this member has a leader and has
 * applied what is committed (its membership and keyspace rebuilt from the log),
 * its HashKV must agree with the peers'; otherwise it stops and start-up fails.
 */
async function initialCorruptCheck(server: EtcdServer, checker: CorruptionChecker, cfg: Config): Promise<void> {
  try {
    if (server.leader === 0n) await server.leaderChange(requestTimeoutMs(cfg));
    await Promise.race([server.waitAppliedCommitted(), new Promise((r) => setTimeout(r, requestTimeoutMs(cfg)).unref())]);
    await checker.initialCheck();
  } catch (err) {
    await server.stop().catch(() => {});
    throw err;
  }
}
