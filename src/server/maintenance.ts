// The Maintenance side of a member (api/ports.ts MaintenanceApi): Status, the two
// hashes, alarms (through Raft) and the backend quota that raises NOSPACE,
// MoveLeader and Defragment. Kept apart from EtcdServer, which is the request side
// (KV, reads, proposals): these are operator actions over the member's parts.

import type { Logger } from 'pino';
import type { HashKVResult, MvccStore } from '../mvcc/index.js';
import type * as pb from '../pb/types.js';
import { AlarmAction, AlarmType } from '../pb/types.js';
import { type Alarm, alarmName, type AlarmStore } from './alarms.js';
import { ErrStopped } from './errors.js';
import { moveLeader } from './leader-transfer.js';
import type { Membership } from './membership.js';
import type { InternalRequestBody } from './proposal.js';
import { BackendQuota } from './quota.js';
import type { RaftNode } from './raft-node.js';
import { ETCD_CLUSTER_VERSION } from '../version.js';
import { prepareEtcdSnapshotStream } from '../snapshot/etcd-writer.js';
import { storeImageSource } from '../snapshot/store-source.js';

/** What Maintenance needs from the member it runs on. */
export interface MaintenanceParts {
  memberId: bigint;
  quotaBackendBytes: number;
  heartbeatMs: number;
  logger: Logger;
  /** The current store (a snapshot from the leader may replace it). */
  store(): MvccStore;
  raft: RaftNode;
  membership: Membership;
  /** The alarms as this member has applied them. */
  alarms: AlarmStore;
  appliedIndex(): number;
  propose(body: InternalRequestBody): Promise<unknown>;
  stopped(): boolean;
}

export interface MemberStatusFigures {
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSize: number;
  dbSizeInUse: number;
  isLearner: boolean;
}

/** A snapshot being sent: its size is known before the first byte. */
export interface BackendSnapshot {
  /** Bytes `chunks` yields in all. */
  size: number;
  /** The etcd backend file's bytes, in order (whole pages). Iterate once. */
  chunks: AsyncIterable<Uint8Array>;
  /** Releases the point-in-time view; idempotent, also done when `chunks` ends. */
  close(): Promise<void>;
}

export class Maintenance {
  private readonly quota: BackendQuota;

  constructor(private readonly p: MaintenanceParts) {
    this.quota = new BackendQuota({
      quotaBytes: p.quotaBackendBytes,
      size: () => p.store().dbSize(),
      raiseNoSpace: () => this.alarm({ action: AlarmAction.ACTIVATE, memberID: p.memberId, alarm: AlarmType.NOSPACE }),
    });
  }

  /** This member's Raft and store figures (Maintenance.Status). */
  async status(): Promise<MemberStatusFigures> {
    const { raft, store } = this.p;
    return {
      leader: raft.leader,
      raftIndex: raft.committedIndex,
      raftTerm: raft.currentTerm,
      raftAppliedIndex: this.p.appliedIndex(),
      dbSize: await store().dbSize(),
      dbSizeInUse: await store().dbSizeInUse(),
      isLearner: this.p.membership.get(this.p.memberId)?.isLearner ?? false,
    };
  }

  /** Maintenance.Hash: the whole backend of this member. */
  hash(): Promise<{ hash: number; revision: number }> {
    return this.p.store().hash();
  }

  /** Hash of the keyspace up to revision (0: the current one). */
  hashKV(revision: number): Promise<HashKVResult> {
    return this.p.store().hashKV(revision);
  }

  /** etcd's quota check on the write path: raises NOSPACE and rejects when a request of this cost does not fit (undefined: it fits, see BackendQuota.check). */
  checkQuota(cost: number): Promise<void> | undefined {
    return this.quota.check(cost);
  }

  /** Maintenance.Alarm: every action goes through Raft (as in etcd 3.4); resolves with the alarms it answered. */
  async alarm(req: pb.AlarmRequest): Promise<Alarm[]> {
    return (await this.p.propose({ alarm: req })) as Alarm[];
  }

  /** The alarms active as this member has applied them (Status errors, /health). */
  alarms(): Alarm[] {
    return this.p.alarms.get();
  }

  /** The active alarms' names ("NOSPACE", "CORRUPT"), for /health and /readyz. */
  activeAlarms(): string[] {
    return this.alarms().map((a) => alarmName(a.alarm));
  }

  /** Maintenance.MoveLeader (leader-transfer.ts); `deadline` is the caller's, in epoch ms. */
  moveLeader(target: bigint, deadline: number): Promise<void> {
    if (this.p.stopped()) return Promise.reject(ErrStopped());
    const { raft, membership } = this.p;
    return moveLeader(
      {
        memberId: this.p.memberId,
        leader: () => raft.leader,
        member: (id) => membership.get(id),
        transferLeadership: (to) => raft.transferLeadership(to),
        tickMs: this.p.heartbeatMs,
      },
      target,
      deadline,
      this.p.logger,
    );
  }

  /**
   * Maintenance.Snapshot: this member's store as etcd's backend file, read from
   * one point-in-time view (writes go on meanwhile): a counting pass sizes it,
   * the second pass produces it page by page as the caller consumes it.
   */
  async snapshot(): Promise<BackendSnapshot> {
    if (this.p.stopped()) throw ErrStopped();
    const view = await this.p.store().pointInTimeView();
    try {
      const { membership } = this.p;
      const src = await storeImageSource(view, {
        members: membership.list(),
        membersRemoved: membership.removedIds(),
        clusterVersion: ETCD_CLUSTER_VERSION,
      });
      const stream = await prepareEtcdSnapshotStream(src);
      return {
        size: stream.size,
        chunks: (async function* () {
          try {
            yield* stream.bytes();
          } finally {
            await view.close();
          }
        })(),
        close: () => view.close(),
      };
    } catch (err) {
      await view.close();
      throw err;
    }
  }

  /** Maintenance.Defragment: compacts the backend's files; reads, writes and watches go on meanwhile. */
  async defragment(): Promise<void> {
    if (this.p.stopped()) throw ErrStopped();
    this.p.logger.info({}, 'starting defragment');
    const started = Date.now();
    await this.p.store().defragment();
    this.p.logger.info({ tookMs: Date.now() - started }, 'finished defragment');
  }
}
