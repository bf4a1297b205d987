// Pieces of a member that compose.ts wires and the whole-cluster simulation
// (test/sim/sim-member.ts) wires the same way: the lessor over the current
// store, the lease parts' view of the member, and a snapshot for a follower
// filled with the store image.

import type { Logger } from 'pino';
import type { Message } from '../raft/types.js';
import { LEASE_PREFIX, type MvccStore } from '../mvcc/index.js';
import { Lessor, minLeaseTtl, rawLeaseStorage } from '../lease/index.js';
import type { Config } from './config.js';
import { type EtcdServer, requestTimeoutMs } from './etcd-server.js';
import type { LeaseHost } from './lease/index.js';
import type { RaftNode } from './raft-node.js';
import { decodeSnapshotData, encodeSnapshotData, exportStoreImage } from './snapshot-data.js';

/** The member's lessor; its records go into whichever store is current (a leader's snapshot replaces it). */
export function memberLessor(cfg: Config, stores: { current: MvccStore }): Lessor {
  return new Lessor({
    minTtl: minLeaseTtl(Math.round(cfg.electionMs / cfg.heartbeatMs), cfg.heartbeatMs),
    storage: rawLeaseStorage({ prefix: new Uint8Array([LEASE_PREFIX]), stage: (k, v) => stores.current.backend.stageRaw(k, v) }),
    // An expired lease whose revoke did not apply within a request timeout is proposed again.
    expiredRetryMs: requestTimeoutMs(cfg),
  });
}

/** The lease parts' view of the member; the Raft node and the server exist only later, hence the getters. */
export function memberLeaseHost(
  cfg: Config,
  logger: Logger,
  raft: () => RaftNode | undefined,
  server: () => EtcdServer | undefined,
  peers: Pick<LeaseHost, 'callPeer' | 'openPeerStream'>,
): LeaseHost {
  return {
    logger,
    requestTimeoutMs: requestTimeoutMs(cfg),
    isLeader: () => raft()?.isLeader ?? false,
    leader: () => raft()?.leader ?? 0n,
    propose: (body, caller) => server()!.propose(body, undefined, caller),
    waitAppliedCommitted: () => server()!.waitAppliedCommitted(),
    confirmLeadership: () => server()!.confirmLeadership(),
    nextRequestId: () => server()!.nextRequestId(),
    callPeer: peers.callPeer,
    openPeerStream: peers.openPeerStream,
    leaderChange: (timeoutMs) => server()!.leaderChange(timeoutMs),
  };
}

/** An outgoing MsgSnap with the store image it must carry (the member's own snapshots hold only the membership). */
export async function withStoreImage(m: Message, store: MvccStore, logger: Logger): Promise<Message> {
  const snap = m.snapshot!;
  const { membership: members } = decodeSnapshotData(snap.data);
  const image = await exportStoreImage(store);
  logger.info(
    { to: m.to.toString(16), index: snap.metadata.index, bytes: image.length },
    'sending a snapshot with the store image to a follower behind the log',
  );
  return { ...m, snapshot: { ...snap, data: encodeSnapshotData({ membership: members, image }) } };
}
