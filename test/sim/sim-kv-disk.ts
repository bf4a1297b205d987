// A member's store directory on a simulated disk: the crashable in-memory KvDb of
// test/unit/crashable-db.ts (unsynced batches lost at a power cut), one database
// per incarnation of the member. A crash hands the next incarnation a fresh
// database holding only what was synced, so batches the dead incarnation still
// has in flight land in a database nobody reads again. Batches take a simulated
// latency (in order, as LevelDB applies them), so flushes overlap applies.
// setTimeout here is the simulation's (virtual-time.ts).

import type { OpenDb } from '../../src/mvcc/index.js';
import { CrashableDisk, CrashableDisks } from '../unit/crashable-db.js';

export const DB_DIR = 'sim-db';

export class SimKvDisk {
  private disks = new CrashableDisks();
  /** When the last batch handed to the disk completes (batches complete in order). */
  private lastDone = 0;
  /** Told once when the current database next completes a batch (see afterNextBatch). */
  private onNextBatch: (() => void) | undefined;

  /** `latencyMs`: how long a batch takes to reach the disk (simulated time; writes stay in order). */
  constructor(private readonly latencyMs: () => number, private readonly now: () => number) {
    this.slow(this.disk);
  }

  private slow(disk: CrashableDisk): void {
    disk.beforeBatch = () => {
      const done = Math.max(this.lastDone, this.now() + this.latencyMs());
      this.lastDone = done;
      return new Promise<void>((r) => setTimeout(r, done - this.now()));
    };
    disk.afterBatch = () => {
      // Only the live incarnation's batches count: a dead one's land on a disk nobody reads.
      if (disk !== this.disk || !this.onNextBatch) return;
      const fn = this.onNextBatch;
      this.onNextBatch = undefined;
      fn();
    };
  }

  /**
   * Calls `fn` once, as soon as the next store batch of the current database is on
   * disk (the nemesis kills the member there); returns a function that disarms it.
   */
  afterNextBatch(fn: () => void): () => void {
    this.onNextBatch = fn;
    return () => { if (this.onNextBatch === fn) this.onNextBatch = undefined; };
  }

  /** Opens the current incarnation's database. */
  get openDb(): OpenDb {
    return this.disks.openDb;
  }

  get disk(): CrashableDisk {
    return this.disks.disk(DB_DIR);
  }

  /**
   * The member's process dies. 'power': the next incarnation sees only synced
   * batches. 'process' (kill -9): the OS keeps every batch LevelDB wrote.
   */
  crash(kind: 'power' | 'process'): void {
    this.onNextBatch = undefined;
    const old = this.disk;
    if (kind === 'power') old.powerLoss();
    this.replaceWith(old.current);
  }

  /**
   * A state-transfer image, restored, synced and renamed into place (the production
   * path does the same with fsyncs before the commit rename: store-dir.ts).
   */
  replaceWith(entries: Map<string, [Uint8Array, Uint8Array]>): void {
    this.disks = new CrashableDisks();
    const fresh = this.disk;
    this.slow(fresh);
    fresh.write([...entries.values()].map(([key, value]) => ({ type: 'put' as const, key, value })), true);
  }
}
