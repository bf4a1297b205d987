// An in-memory KvDb for durability tests. Like LevelDB on a real disk, a batch
// written without `sync` may be lost at a power loss, and a synced batch makes
// itself and everything written before it durable. `powerLoss()` drops the
// volatile writes; reopening without it models kill -9 (the OS keeps them).
// Failures can be injected into batch and getMany.

import type { BatchOp, DbIterator, DbList, DbRange, DbSnapshot, KvDb, OpenDb, StagedBatch } from '../../src/mvcc/index.js';

type Entries = Map<string, [Uint8Array, Uint8Array]>;

const hex = (k: Uint8Array): string => Buffer.from(k).toString('hex');
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

class MemSnapshot implements DbSnapshot {
  constructor(readonly entries: Entries) {}
  async close(): Promise<void> {}
}

function inRange(h: string, r: DbRange): boolean {
  if (r.gt && !(h > hex(r.gt))) return false;
  if (r.gte && !(h >= hex(r.gte))) return false;
  if (r.lt && !(h < hex(r.lt))) return false;
  if (r.lte && !(h <= hex(r.lte))) return false;
  return true;
}

/** One "disk" (store directory): survives closing and reopening the database. */
export class CrashableDisk {
  current: Entries = new Map();
  private durable: Entries = new Map();
  /** Batches written since the last sync (lost at a power loss). */
  volatileBatches = 0;
  batches = 0;
  syncedBatches = 0;
  /** Return an error to make that batch fail (nothing of it is written). */
  failBatch: ((ops: BatchOp[], sync: boolean) => Error | undefined) | undefined;
  failGetMany: ((keys: Uint8Array[]) => Error | undefined) | undefined;
  /** Called before each batch is applied; may delay it (slow disk). */
  beforeBatch: (() => Promise<void>) | undefined;
  /** Called once each batch is applied (before the writer learns it is done). */
  afterBatch: (() => void) | undefined;

  write(ops: BatchOp[], sync: boolean): void {
    for (const op of ops) {
      const h = hex(op.key);
      if (op.type === 'put') this.current.set(h, [op.key.slice(), op.value.slice()]);
      else this.current.delete(h);
    }
    this.batches++;
    if (sync) {
      this.syncedBatches++;
      this.durable = new Map(this.current);
      this.volatileBatches = 0;
    } else this.volatileBatches++;
  }

  /** Power loss: everything not covered by a synced batch is gone. */
  powerLoss(): void {
    this.current = new Map(this.durable);
    this.volatileBatches = 0;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.current.get(hex(key))?.[1];
  }
}

class MemDb implements KvDb {
  private opened = false;
  constructor(private readonly disk: CrashableDisk) {}

  async open(): Promise<void> { this.opened = true; }
  async close(): Promise<void> { this.opened = false; }

  private check(): void {
    if (!this.opened) throw new Error('memdb: not open');
  }

  async batch(ops: BatchOp[], opts?: { sync?: boolean }): Promise<void> {
    this.check();
    // Copy now: callers may reuse buffers, and LevelDB takes the batch at call time.
    const copy = ops.map((o) => (o.type === 'put' ? { ...o, key: o.key.slice(), value: o.value.slice() } : { ...o, key: o.key.slice() }));
    await tick();
    if (this.disk.beforeBatch) await this.disk.beforeBatch();
    const err = this.disk.failBatch?.(copy, opts?.sync === true);
    if (err) throw err;
    this.disk.write(copy, opts?.sync === true);
    this.disk.afterBatch?.();
  }

  stage(): StagedBatch {
    const ops: BatchOp[] = [];
    let open = true;
    const take = (): void => {
      if (!open) throw new Error('memdb: batch already written or closed');
    };
    return {
      // Copied now, as LevelDB's WriteBatch copies the bytes at the call.
      put: (key, value) => { take(); ops.push({ type: 'put', key: key.slice(), value: value.slice() }); },
      del: (key) => { take(); ops.push({ type: 'del', key: key.slice() }); },
      write: (opts) => { take(); open = false; return this.batch(ops, opts); },
      close: async () => { open = false; },
    };
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.check();
    return this.disk.current.get(hex(key))?.[1];
  }

  async getMany(keys: Uint8Array[], opts?: { snapshot?: DbSnapshot }): Promise<(Uint8Array | undefined)[]> {
    this.check();
    await tick();
    const err = this.disk.failGetMany?.(keys);
    if (err) throw err;
    const src = (opts?.snapshot as MemSnapshot | undefined)?.entries ?? this.disk.current;
    return keys.map((k) => src.get(hex(k))?.[1]);
  }

  private list(r: DbRange): [Uint8Array, Uint8Array][] {
    const src = (r.snapshot as MemSnapshot | undefined)?.entries ?? this.disk.current;
    const hs = [...src.keys()].filter((h) => inRange(h, r)).sort();
    if (r.reverse) hs.reverse();
    const out = hs.map((h) => src.get(h)!);
    return r.limit !== undefined && r.limit >= 0 ? out.slice(0, r.limit) : out;
  }

  iterator(range: DbRange = {}): DbIterator {
    this.check();
    const all = this.list(range);
    let pos = 0;
    return {
      nextv: async (size: number) => { await tick(); const out = all.slice(pos, pos + size); pos += out.length; return out; },
      all: async () => { const out = all.slice(pos); pos = all.length; return out; },
      close: async () => {},
    };
  }

  keys(range: DbRange = {}): DbList<Uint8Array> {
    const l = this.list(range);
    return { all: async () => l.map(([k]) => k) };
  }

  values(range: DbRange = {}): DbList<Uint8Array> {
    const l = this.list(range);
    return { all: async () => l.map(([, v]) => v) };
  }

  snapshot(): DbSnapshot {
    return new MemSnapshot(new Map(this.disk.current));
  }

  async size(): Promise<number> {
    let bytes = 0;
    for (const [k, v] of this.disk.current.values()) bytes += k.length + v.length;
    return bytes;
  }
}

/** Disks by directory, so that a store reopened on the same directory finds its data. */
export class CrashableDisks {
  private readonly disks = new Map<string, CrashableDisk>();
  disk(dir: string): CrashableDisk {
    let d = this.disks.get(dir);
    if (!d) this.disks.set(dir, (d = new CrashableDisk()));
    return d;
  }
  readonly openDb: OpenDb = (dir) => new MemDb(this.disk(dir));
}
