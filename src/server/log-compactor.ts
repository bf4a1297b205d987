// Every --snapshot-count applied entries, the member takes a Raft snapshot and lets
// go of the log before it: the WAL segments wholly below it are deleted and the
// in-memory log keeps only a tail for followers that are slightly behind.
//
// The KV state itself is not in the snapshot: it lives in LevelDB, whose batches
// carry the consistent index. Ordinary batches are not synced (the WAL covers
// them), so the store is written in a synced batch first: only once its durable
// consistent index covers the snapshot index are the entries below it never
// needed for replay again, even after a power loss. The sync runs here, in this
// background task, never on the apply path. The snapshot data carries the membership.

import type { Logger } from 'pino';
import type { MemoryStorage } from '../raft/index.js';
import type { ConfState } from '../raft/types.js';
import type { MvccStore } from '../mvcc/index.js';
import type { Snapshotter, WAL } from '../wal/index.js';
import type { Membership } from './membership.js';
import { encodeSnapshotData } from './snapshot-data.js';
import { FAILPOINTS_ON, failpointAsync } from '../util/failpoints.js';

/** Entries kept in memory below a snapshot so a lagging follower can still be fed from the log. */
export const CATCH_UP_ENTRIES = 5000;
/** etcd's --max-snapshots and --max-wals defaults. */
const FILES_KEPT = 5;

export interface LogCompactorDeps {
  snapshotCount: number;
  storage: MemoryStorage;
  /** What the compactor uses of them (the simulation, test/sim, passes its simulated disk). */
  wal: Pick<WAL, 'saveSnapshot' | 'releaseTo'>;
  snapshotter: Pick<Snapshotter, 'save' | 'purge'>;
  /** The current store (a snapshot from the leader may replace it). */
  store: () => MvccStore;
  membership: Membership;
  confState: () => ConfState;
  logger: Logger;
  /** Entries kept below a snapshot for slow followers (default CATCH_UP_ENTRIES); the simulation keeps few, so snapshots get sent. */
  catchUpEntries?: number;
  /** --max-snapshots / --max-wals: files kept (0: all, as in etcd); default 5 each. */
  maxSnapshots?: number;
  maxWals?: number;
}

export class LogCompactor {
  private lastSnapshotIndex: number;
  private running: Promise<void> | undefined;

  constructor(
    private readonly d: LogCompactorDeps,
    snapshotIndex: number,
  ) {
    this.lastSnapshotIndex = snapshotIndex;
  }

  /** Called after each applied batch; starts at most one snapshot at a time. */
  maybeSnapshot(applied: number): void {
    if (this.running || applied - this.lastSnapshotIndex < this.d.snapshotCount) return;
    this.running = this.snapshot(applied)
      .catch((err: Error) => this.d.logger.error({ err, index: applied }, 'failed to save snapshot'))
      .finally(() => (this.running = undefined));
  }

  async idle(): Promise<void> {
    await this.running;
  }

  private async snapshot(index: number): Promise<void> {
    const started = performance.now();
    // The membership and conf state must be read now, at `index`, before later entries change them.
    const data = encodeSnapshotData({ membership: this.d.membership.toSnapshot() });
    const confState = this.d.confState();
    const durable = await this.d.store().sync();
    if (durable < index) {
      throw new Error(`store durable consistent index ${durable} behind snapshot index ${index}; WAL kept`);
    }
    const snap = this.d.storage.createSnapshot(index, confState, data);
    await this.d.snapshotter.save(snap);
    if (FAILPOINTS_ON) await failpointAsync('raftBeforeWALSaveSnaphot');
    await this.d.wal.saveSnapshot({ index, term: snap.metadata.term });
    this.lastSnapshotIndex = index;
    const keep = this.d.catchUpEntries ?? CATCH_UP_ENTRIES;
    if (index > keep) {
      const compactTo = index - keep;
      if (compactTo >= this.d.storage.firstIndex()) this.d.storage.compact(compactTo);
    }
    const maxWals = this.d.maxWals ?? FILES_KEPT;
    if (maxWals > 0) await this.d.wal.releaseTo(index, maxWals);
    if (FAILPOINTS_ON) await failpointAsync('raftAfterWALRelease');
    const maxSnapshots = this.d.maxSnapshots ?? FILES_KEPT;
    if (maxSnapshots > 0) await this.d.snapshotter.purge(maxSnapshots);
    this.d.logger.info(
      { 'snapshot-index': index, term: snap.metadata.term, took: `${(performance.now() - started).toFixed(1)}ms` },
      'saved snapshot',
    );
  }
}
