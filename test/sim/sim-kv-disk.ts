// A member's store directory on a simulated disk: the crashable in-memory KvDb of
// test/unit/crashable-db.ts (unsynced batches lost at a power cut), one database
// per incarnation of the member. A crash hands the next incarnation a fresh
// database holding only what was synced, so batches the dead incarnation still
// has in flight land in a database nobody reads again.

import type { OpenDb } from '../../src/mvcc/index.js';
import { CrashableDisk, CrashableDisks } from '../unit/crashable-db.js';

export const DB_DIR = 'sim-db';

export class SimKvDisk {
  private disks = new CrashableDisks();

  /** Opens the current incarnation's database. */
  get openDb(): OpenDb {
    return this.disks.openDb;
  }

  get disk(): CrashableDisk {
    return this.disks.disk(DB_DIR);
  }

  /** Power cut: the next incarnation sees only synced batches. */
  crash(): void {
    const old = this.disk;
    old.powerLoss();
    this.replaceWith(old.current);
  }

  /**
   * A state-transfer image, restored, synced and renamed into place (the production
   * path does the same with fsyncs before the commit rename: store-dir.ts).
   */
  replaceWith(entries: Map<string, [Uint8Array, Uint8Array]>): void {
    this.disks = new CrashableDisks();
    const fresh = this.disk;
    fresh.write([...entries.values()].map(([key, value]) => ({ type: 'put' as const, key, value })), true);
  }
}
