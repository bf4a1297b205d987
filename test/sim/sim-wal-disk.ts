// A member's Raft log in the simulation: the real WAL and Snapshotter (src/wal)
// over a simulated file system (sim-fs.ts) that loses unsynced writes and
// directory entries at a power cut and may tear the last sector written. Each
// incarnation opens its data dir the way src/server/bootstrap.ts does: a fresh
// member creates the WAL; a restarting one opens it from the newest snapshot
// whose marker the WAL holds (openFromNewestSnapshot), the real replay repairing
// a torn tail, and builds its Raft storage with bootstrap's own helpers.
// Segments are small (a few KB to tens of KB, drawn per member) so that cuts,
// segment preparation and release happen within a short run.

import type { Logger } from 'pino';
import type { MemoryStorage } from '../../src/raft/index.js';
import type { HardState, Snapshot } from '../../src/raft/types.js';
import { openFromNewestSnapshot, raiseCommitToSnapshot, restartStorage } from '../../src/server/bootstrap.js';
import type { MemoryStorageOptions } from '../../src/raft/index.js';

/**
 * The in-memory Raft log of a simulated member keeps only a few entries as
 * objects and packs the rest (production keeps 1,024), so every seed runs
 * lagging followers, conflicting appends and restarts over packed entries too.
 */
export const SIM_LOG_STORAGE: MemoryStorageOptions = { hotEntries: 3 };
import { walLog, type DurableLog } from '../../src/server/raft-ports.js';
import { decodeWalMetadata, encodeWalMetadata, mkdirDurable, Snapshotter, WAL } from '../../src/wal/index.js';
import { SimFs, type SimFsFaults } from './sim-fs.js';

/** The member's data dir on its simulated disk (layout(cfg) of bootstrap.ts). */
export const DATA_DIR = '/data';
const SNAP_DIR = `${DATA_DIR}/member/snap`;
const WAL_DIR = `${DATA_DIR}/member/wal`;

/** What an incarnation starts from. */
export interface OpenedLog {
  /** True when this start created the WAL (nothing to recover). */
  fresh: boolean;
  wal: WAL;
  snapshotter: Snapshotter;
  log: DurableLog;
  /** Restart only: the storage rebuilt from the snapshot and the WAL. */
  storage?: MemoryStorage;
  snapshot?: Snapshot;
  hardState?: HardState;
}

export class SimWalDisk {
  readonly fs: SimFs;
  private readonly segmentSizeBytes: number;

  constructor(
    sched: { now(): number; after(ms: number, fn: () => void): () => void },
    rng: () => number,
    faults?: SimFsFaults,
  ) {
    this.fs = new SimFs(sched, rng, faults);
    this.segmentSizeBytes = 4096 * (1 + Math.floor(rng() * 16));
  }

  /**
   * Opens the data dir for a new incarnation. Rejects as production start-up
   * would (WalCorruptError, a WAL that belongs to another member, ...).
   */
  async open(ids: { memberId: bigint; clusterId: bigint }, logger: Logger): Promise<OpenedLog> {
    const fs = this.fs.view();
    const opts = { logger, fs, segmentSizeBytes: this.segmentSizeBytes };
    await mkdirDurable(fs, SNAP_DIR);
    const snapshotter = new Snapshotter(SNAP_DIR, logger, fs);
    if (!(await WAL.exists(WAL_DIR, fs))) {
      const wal = await WAL.create(WAL_DIR, encodeWalMetadata(ids.memberId, ids.clusterId), opts);
      return { fresh: true, wal, snapshotter, log: walLog(wal, snapshotter) };
    }
    const { snapshot, opened } = await openFromNewestSnapshot(WAL_DIR, snapshotter, logger, { fs, segmentSizeBytes: this.segmentSizeBytes });
    const { wal, metadata, hardState, entries } = opened;
    const { memberId, clusterId } = decodeWalMetadata(metadata);
    if (memberId !== ids.memberId || clusterId !== ids.clusterId) {
      await wal.close();
      throw new Error(`the WAL belongs to member ${memberId.toString(16)} of cluster ${clusterId.toString(16)}`);
    }
    raiseCommitToSnapshot(hardState, snapshot);
    const storage = restartStorage(snapshot, hardState, entries, { ...SIM_LOG_STORAGE, cold: wal.coldEntries });
    return { fresh: false, wal, snapshotter, log: walLog(wal, snapshotter), storage, snapshot, hardState };
  }

  /** The member's process dies ('process': kill -9) or its machine loses power. */
  crash(kind: 'power' | 'process'): void {
    this.fs.crash(kind);
  }
}
