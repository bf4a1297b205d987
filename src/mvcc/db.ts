// The few LevelDB operations the MVCC store uses, as an interface. Production
// wraps `level` (LevelKvDb); tests inject an in-memory database that can lose
// unsynced batches at a simulated power loss, or fail on demand, which is the
// only way to test the store's durability rules without pulling a plug.

import { Level } from 'level';
import { syncTree } from './fsync.js';
import { pinLiveTables, type TableSet } from './leveldb-files/table-set.js';

export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/**
 * A write batch built op by op (LevelDB's WriteBatch): put and del take a copy
 * of their bytes at once, so the caller may reuse them; write() then commits
 * every op atomically, with the same `sync` rule as KvDb.batch. Once written
 * or closed the batch takes no more ops.
 */
export interface StagedBatch {
  put(key: Uint8Array, value: Uint8Array): void;
  del(key: Uint8Array): void;
  write(opts?: { sync?: boolean }): Promise<void>;
  /** Drops the ops without writing them. */
  close(): Promise<void>;
}

/** A point-in-time view for reads (LevelDB explicit snapshot). */
export interface DbSnapshot {
  close(): Promise<void>;
}

export interface DbRange {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse?: boolean;
  limit?: number;
  snapshot?: DbSnapshot;
}

export interface DbIterator {
  nextv(size: number): Promise<[Uint8Array, Uint8Array][]>;
  all(): Promise<[Uint8Array, Uint8Array][]>;
  close(): Promise<void>;
}

export interface DbList<T> {
  all(): Promise<T[]>;
}

export interface KvDb {
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Atomic. With `sync`, the write (and, as in LevelDB, every earlier write) is
   * on stable storage when this resolves; without it, a power loss may drop it.
   */
  batch(ops: BatchOp[], opts?: { sync?: boolean }): Promise<void>;
  /** A batch built op by op, written as batch() writes one (see StagedBatch). */
  stage(): StagedBatch;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  getMany(keys: Uint8Array[], opts?: { snapshot?: DbSnapshot }): Promise<(Uint8Array | undefined)[]>;
  iterator(range?: DbRange): DbIterator;
  keys(range?: DbRange): DbList<Uint8Array>;
  values(range?: DbRange): DbList<Uint8Array>;
  snapshot(): DbSnapshot;
  /**
   * Compacts every table overlapping [start, end] (LevelDB CompactRange): drops
   * deleted and overwritten records and rewrites the rest into the bottom level.
   * Runs on a worker thread; reads and writes go on meanwhile. Optional: test
   * databases without it have nothing to compact.
   */
  compactRange?(start: Uint8Array, end: Uint8Array): Promise<void>;
  /**
   * A point-in-time set of the database's files holding every write made
   * before the call, read without the database's caches (leveldb-files/
   * table-set.ts). Optional: test databases without files read through
   * snapshot() instead.
   */
  pinTables?(): Promise<TableSet>;
  /**
   * Bytes the database takes, when it knows them without the file system (the
   * in-memory databases of tests and the simulation). Absent: the size of the
   * store directory's files is read (dir-size.ts).
   */
  size?(): Promise<number>;
}

/** Opens the database of a store directory (injectable for tests). */
export type OpenDb = (dir: string) => KvDb;

type Lvl = Level<Uint8Array, Uint8Array>;

/**
 * A range after every key of the store (all keys start below 0xff, see
 * keyspace.ts): compacting it overlaps no table, so LevelDB only writes its
 * memtable to a table (DBImpl::CompactRange always does that first).
 */
const PAST_EVERY_KEY = new Uint8Array(33).fill(0xff);
// `level`'s option types name its own snapshot class; ours is opaque and always
// one of its, so options and results are cast at this one boundary.
type LevelOpts = Parameters<Lvl['getMany']>[1];

/**
 * LevelDB's memtable size. Each time it fills, LevelDB writes it out as a table,
 * syncs the table and its MANIFEST, and starts a new log file; on ext4 each of
 * those syncs is a journal commit that the WAL's next O_DSYNC write waits behind. At
 * 1 MiB a member under a 16-client put load did that about once a second, and
 * the put rows' p99 carried it (16 MiB: p99 -11 to -13% at 1, 16 and 256
 * clients, CPU -4 to -13%; 64 MiB was no better and 30 MiB bigger;
 * docs/PERFORMANCE.md, eleventh round). Durability does not depend on it: the
 * WAL covers unsynced batches.
 */
const MEMTABLE_BYTES = 16 << 20;
const SYNC = { sync: true } as const;

/** The production database: LevelDB through `level`. */
export class LevelKvDb implements KvDb {
  private readonly db: Lvl;

  /** `memtableBytes`: tests that need many tables from little data set it lower. */
  constructor(private readonly dir: string, memtableBytes = MEMTABLE_BYTES) {
    this.db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', cacheSize: 2 << 20, writeBufferSize: memtableBytes });
  }

  open(): Promise<void> { return this.db.open(); }
  close(): Promise<void> { return this.db.close(); }
  batch(ops: BatchOp[], opts?: { sync?: boolean }): Promise<void> {
    const b = this.stage();
    try {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        if (op.type === 'put') b.put(op.key, op.value);
        else b.del(op.key);
      }
    } catch (err) {
      // A batch left open would hold the database's close: give it up.
      return b.close().then(() => { throw err; });
    }
    return b.write(opts);
  }

  /**
   * level's chained batch. Both forms of a batch go through it: level's array
   * form copies every op into a fresh object with its encodings and its native
   * side reads each op's fields back one property lookup at a time, all on this
   * thread, where the chained form hands key and value straight to the native
   * WriteBatch (for ~76 ops ~240 against ~135 µs, for 1,000 ops ~2.5 against
   * ~0.8 ms: docs/PERFORMANCE.md, twenty-eighth round).
   */
  stage(): StagedBatch {
    return new LevelStagedBatch(this.db.batch(), this.dir);
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> { return this.db.get(key); }
  getMany(keys: Uint8Array[], opts?: { snapshot?: DbSnapshot }): Promise<(Uint8Array | undefined)[]> {
    return (opts ? this.db.getMany(keys, opts as LevelOpts) : this.db.getMany(keys)) as Promise<(Uint8Array | undefined)[]>;
  }
  iterator(range: DbRange = {}): DbIterator { return this.db.iterator(range as LevelOpts) as unknown as DbIterator; }
  keys(range: DbRange = {}): DbList<Uint8Array> { return this.db.keys(range as LevelOpts) as unknown as DbList<Uint8Array>; }
  values(range: DbRange = {}): DbList<Uint8Array> { return this.db.values(range as LevelOpts) as unknown as DbList<Uint8Array>; }
  snapshot(): DbSnapshot { return this.db.snapshot(); }
  // `level`'s types omit classic-level's compactRange; the Node build has it.
  compactRange(start: Uint8Array, end: Uint8Array): Promise<void> {
    return (this.db as unknown as { compactRange(s: Uint8Array, e: Uint8Array): Promise<void> }).compactRange(start, end);
  }
  async pinTables(): Promise<TableSet> {
    await this.compactRange(PAST_EVERY_KEY, PAST_EVERY_KEY);
    return pinLiveTables(this.dir);
  }
}

type LevelChainedBatch = ReturnType<Lvl['batch']>;

class LevelStagedBatch implements StagedBatch {
  constructor(private readonly b: LevelChainedBatch, private readonly dir: string) {}

  put(key: Uint8Array, value: Uint8Array): void { this.b.put(key, value); }
  del(key: Uint8Array): void { this.b.del(key); }
  close(): Promise<void> { return this.b.close(); }

  write(opts?: { sync?: boolean }): Promise<void> {
    return opts?.sync ? this.writeSynced() : this.b.write();
  }

  // LevelDB's sync covers only its current log file: writes still in a log it
  // switched away from (its memtable not yet in a table) could be lost with a
  // newer synced batch surviving. Syncing every file after the batch makes
  // "a synced batch makes everything before it durable" hold. Rare (snapshots).
  private async writeSynced(): Promise<void> {
    await this.b.write(SYNC);
    await syncTree(this.dir, { live: true });
  }
}

export const openLevelDb: OpenDb = (dir) => new LevelKvDb(dir);
