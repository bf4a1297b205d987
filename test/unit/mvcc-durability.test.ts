// The backend's batches against crashes and disk failures: a batch holds whole
// entries with their consistent index; a failed batch stops the store; a failed
// write leaves no trace in the index.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { MvccError, MvccStore, StorageFailure, type MvccOptions, type OpenDb, type StagedBatch } from '../../src/mvcc/index.js';
import { STAGE_MIN_OPS } from '../../src/mvcc/backend.js';
import { CrashableDisks } from './crashable-db.js';
import { b, pr, rr, str, TmpStores } from './mvcc-helpers.js';

const NO_TIMER = 3_600_000;
const opened: MvccStore[] = [];
let n = 0;

async function open(disks: CrashableDisks, dir: string, opts: MvccOptions = {}): Promise<MvccStore> {
  const s = await MvccStore.open(dir, { openDb: disks.openDb, flushIntervalMs: NO_TIMER, ...opts });
  opened.push(s);
  return s;
}
const newDir = (): string => `/mem/store-${++n}`;
const settle = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => {});
});

/** Replays one entry as the applier does: only entries above the consistent index. */
async function replayPut(s: MvccStore, key: string, value: string, index: number): Promise<void> {
  if (index > s.consistentIndex()) await s.put(pr(key, value), index);
}

describe('a batch never splits an entry from its consistent index (kill -9)', () => {
  it('a size-triggered flush does not persist a revision without its entry index', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const s = await open(disks, dir, { flushMaxOps: 5 });
    for (let i = 1; i <= 4; i++) await s.put(pr(`k${i}`, 'v'), i);
    await s.put(pr('x', 'once'), 5); // 5th pending op: a flush is due right here
    await settle();
    // kill -9: whatever batches LevelDB took are on disk; the overlay is gone.
    const r = await open(disks, dir, { flushMaxOps: 5 });
    await replayPut(r, 'x', 'once', 5);
    const kv = (await r.range(rr('x'))).kvs[0]!;
    expect(kv.version).toBe(1);
    expect(kv.modRevision).toBe(6);
    expect(r.currentRevision()).toBe(6);
  });

  it('a prefix delete of many keys then a put, flushed mid-way, is applied once after a crash', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const s = await open(disks, dir, { flushMaxOps: 100 });
    for (let i = 0; i < 99; i++) await s.put(pr(`p/${String(i).padStart(3, '0')}`, 'v'), i + 1);
    await s.flush();
    await s.deleteRange({ key: b('p/'), rangeEnd: b('p0'), prevKv: false }, 100); // 99 pending ops
    await s.put(pr('after', 'x'), 101); // the 100th: a flush is due
    await settle();
    const r = await open(disks, dir, { flushMaxOps: 100 });
    if (100 > r.consistentIndex()) await r.deleteRange({ key: b('p/'), rangeEnd: b('p0'), prevKv: false }, 100);
    await replayPut(r, 'after', 'x', 101);
    expect((await r.range(rr('after'))).kvs[0]?.version).toBe(1);
    expect(r.currentRevision()).toBe(s.currentRevision());
    expect((await r.hashKV(0)).hash).toBe((await s.hashKV(0)).hash);
  });

  it('a flush requested in the middle of an entry (raw keys staged, index not yet set) leaves the entry out', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const s = await open(disks, dir);
    await s.put(pr('a', '1'), 6);
    // Entry 7 (say a lease grant) stages its record ...
    s.backend.stageRaw(b('lXYZ'), b('record'));
    // ... and a flush (timer, compactor, hash) runs before the entry's index is set.
    await s.flush();
    const r = await open(disks, dir);
    const has = (await r.backend.getRaw(b('lXYZ'))) !== undefined;
    expect({ has, ci: r.consistentIndex() }).toEqual({ has: false, ci: 6 });
    // The entry ends: its effects and its index go out together.
    s.setConsistentIndex(7);
    await s.flush();
    const r2 = await open(disks, dir);
    expect(str((await r2.backend.getRaw(b('lXYZ')))!)).toBe('record');
    expect(r2.consistentIndex()).toBe(7);
  });
});

describe('sync', () => {
  it('makes the applied index durable on real LevelDB, and only then reports it', async () => {
    const tmp = new TmpStores();
    try {
      const s = await tmp.open(undefined, { flushIntervalMs: NO_TIMER });
      await s.put(pr('a', '1'), 3);
      await s.flush();
      expect(s.durableConsistentIndex()).toBe(0); // written, not synced
      await s.put(pr('b', '2'), 4);
      expect(await s.sync()).toBe(4);
      expect(s.durableConsistentIndex()).toBe(4);
    } finally {
      await tmp.cleanup();
    }
  });

  it('does not count an unsynced batch as durable (crashable db)', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const s = await open(disks, dir);
    await s.put(pr('a', '1'), 1);
    expect(await s.sync()).toBe(1);
    await s.put(pr('b', '2'), 2);
    await s.flush();
    expect(s.durableConsistentIndex()).toBe(1);
    disks.disk(dir).powerLoss();
    const r = await open(disks, dir);
    expect(r.consistentIndex()).toBe(1);
  });
});

describe('a failed LevelDB batch stops the store', () => {
  it('rejects every later write and flush with StorageFailure, reports it once, and never advances the index', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const onStorageFailure = vi.fn();
    const s = await open(disks, dir, { onStorageFailure });
    await s.put(pr('a', '1'), 1);
    await s.flush();
    disks.disk(dir).failBatch = () => new Error('EIO: disk on fire');
    await s.put(pr('b', '2'), 2);
    await expect(s.flush()).rejects.toBeInstanceOf(StorageFailure);
    expect(onStorageFailure).toHaveBeenCalledTimes(1);
    expect(onStorageFailure.mock.calls[0]![0]).toBeInstanceOf(StorageFailure);
    await expect(s.put(pr('c', '3'), 3)).rejects.toBeInstanceOf(StorageFailure);
    await expect(s.flush()).rejects.toBeInstanceOf(StorageFailure);
    expect(() => s.setConsistentIndex(4)).toThrow(StorageFailure);
    expect(s.consistentIndex()).toBeLessThanOrEqual(2);
    expect(onStorageFailure).toHaveBeenCalledTimes(1);
    disks.disk(dir).failBatch = undefined;
    const r = await open(disks, dir);
    expect(r.consistentIndex()).toBe(1);
  });

  it('reports a failed background (timer) batch through onStorageFailure', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const onStorageFailure = vi.fn();
    const s = await open(disks, dir, { onStorageFailure, flushIntervalMs: 5 });
    disks.disk(dir).failBatch = () => new Error('EIO');
    await s.put(pr('a', '1'), 1);
    await settle(50);
    expect(onStorageFailure).toHaveBeenCalledTimes(1);
    await expect(s.put(pr('b', '2'), 2)).rejects.toBeInstanceOf(StorageFailure);
  });

  it('backpressure holds writers while a batch is in flight and the buffer is far past a batch', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const s = await open(disks, dir, { flushMaxOps: 10 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    disks.disk(dir).beforeBatch = () => gate;
    let ci = 0;
    for (let i = 0; i < 10; i++) await s.put(pr(`a${i}`, 'v'), ++ci); // first batch: in flight, stuck
    await settle();
    for (let i = 0; i < 25; i++) {
      const p = s.put(pr(`b${i}`, 'v'), ++ci);
      const done = await Promise.race([p.then(() => true), settle(30).then(() => false)]);
      if (!done) {
        // Held: the buffer is ≥ 2 batches and the disk has not answered.
        expect(i).toBeGreaterThanOrEqual(19);
        release();
        await p;
        expect(s.currentRevision()).toBe(ci + 1);
        return;
      }
    }
    release();
    throw new Error('backpressure never held a writer');
  });
});

describe('staging the next batch', () => {
  /** The disks' databases, with a count of the ops put into staged batches (and a way to make them fail). */
  function counted(disks: CrashableDisks): { openDb: OpenDb; puts: () => number; failPuts: (err: Error | undefined) => void } {
    let puts = 0;
    let failure: Error | undefined;
    const openDb: OpenDb = (dir) => {
      const db = disks.openDb(dir);
      const stage = db.stage.bind(db);
      db.stage = (): StagedBatch => {
        const batch = stage();
        const put = batch.put.bind(batch);
        batch.put = (key, value) => {
          if (failure) throw failure;
          puts++;
          put(key, value);
        };
        return batch;
      };
      return db;
    };
    return { openDb, puts: () => puts, failPuts: (err) => (failure = err) };
  }
  const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('copies ended entries\' records into the next batch once a chunk has piled up, on the next turn; the flush adds the rest and the index', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const db = counted(disks);
    const s = await open(disks, dir, { openDb: db.openDb });
    for (let i = 1; i < STAGE_MIN_OPS; i++) await s.put(pr(`k${i}`, 'v'), i);
    await nextTurn();
    expect(db.puts()).toBe(0); // not a chunk yet
    await s.put(pr(`k${STAGE_MIN_OPS}`, 'v'), STAGE_MIN_OPS);
    expect(db.puts()).toBe(0); // not in the apply's turn
    await nextTurn();
    expect(db.puts()).toBe(STAGE_MIN_OPS); // the records, staged
    await s.put(pr('last', 'v'), STAGE_MIN_OPS + 1);
    // kill -9 now: a staged batch was never written; the WAL replays the entries.
    let r = await open(disks, dir);
    expect({ ci: r.consistentIndex(), keys: (await r.range({ ...rr('a'), rangeEnd: b('z') })).kvs.length }).toEqual({ ci: 0, keys: 0 });
    await s.flush();
    expect(db.puts()).toBe(STAGE_MIN_OPS + 2); // the last record and the consistent index
    r = await open(disks, dir);
    expect({ ci: r.consistentIndex(), keys: (await r.range({ ...rr('a'), rangeEnd: b('z') })).kvs.length }).toEqual({
      ci: STAGE_MIN_OPS + 1,
      keys: STAGE_MIN_OPS + 1,
    });
  });

  it('a flush before the next turn stages what ended itself, and a read before either sees the write', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const s = await open(disks, dir);
    await s.put(pr('a', '1'), 1);
    await s.put(pr('b', '2'), 2);
    expect((await s.range(rr('b'))).kvs.map((kv) => str(kv.value))).toEqual(['2']);
    await s.flush();
    const r = await open(disks, dir);
    expect(r.consistentIndex()).toBe(2);
    expect((await r.range({ ...rr('a'), rangeEnd: b('c') })).kvs.map((kv) => str(kv.key))).toEqual(['a', 'b']);
  });

  it('a failure while staging fails the store once, through onStorageFailure, not the process', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const db = counted(disks);
    const onStorageFailure = vi.fn();
    const s = await open(disks, dir, { openDb: db.openDb, onStorageFailure });
    await s.put(pr('a', '1'), 1);
    await s.flush();
    db.failPuts(new Error('batch closed under it'));
    for (let i = 0; i < STAGE_MIN_OPS; i++) await s.put(pr(`b${i}`, '2'), 2 + i);
    await nextTurn();
    expect(onStorageFailure).toHaveBeenCalledTimes(1);
    expect(onStorageFailure.mock.calls[0]![0]).toBeInstanceOf(StorageFailure);
    await expect(s.flush()).rejects.toBeInstanceOf(StorageFailure);
    await expect(s.put(pr('c', '3'), 100)).rejects.toBeInstanceOf(StorageFailure);
    db.failPuts(undefined);
    const r = await open(disks, dir);
    expect(r.consistentIndex()).toBe(1);
  });
});

describe('a write that fails after changes started leaves no trace', () => {
  it('rolls back the index and overlay on a deterministic error and counts the entry as applied', async () => {
    const disks = new CrashableDisks();
    const clean = await open(disks, newDir());
    const s = await open(disks, newDir());
    await s.put(pr('k', '0'), 1);
    await clean.put(pr('k', '0'), 1);
    // The lease exists when the txn is checked, and is gone when its second op
    // runs: an error after the first op changed the index.
    let calls = 0;
    s.setLeaseChecker(() => ++calls === 1);
    const txn = s.txn({
      compare: [],
      success: [{ put: pr('a', '1') }, { put: pr('b', '2', { lease: 5n }) }],
      failure: [],
    }, 2);
    await expect(txn).rejects.toBeInstanceOf(MvccError);
    expect(s.index.get('a')).toBeUndefined();
    expect(s.currentRevision()).toBe(2);
    expect(s.consistentIndex()).toBe(2);
    expect(s.backend.bufferedRevision(3)).toBeUndefined();
    // Later writes behave as if the failed txn never happened.
    await s.put(pr('a', 'x'), 3);
    await clean.put(pr('a', 'x'), 3);
    const kv = (await s.range(rr('a'))).kvs[0]!;
    expect([kv.version, kv.createRevision, kv.modRevision]).toEqual([1, 3, 3]);
    expect((await s.hashKV(0)).hash).toBe((await clean.hashKV(0)).hash);
  });

  it('rolls back a tombstone too (delete then a failing op)', async () => {
    const disks = new CrashableDisks();
    const s = await open(disks, newDir());
    await s.put(pr('d', '0'), 1);
    let calls = 0;
    s.setLeaseChecker(() => ++calls === 1);
    await expect(s.txn({
      compare: [],
      success: [{ deleteRange: { key: b('d'), rangeEnd: new Uint8Array(0), prevKv: false } }, { put: pr('e', '2', { lease: 5n }) }],
      failure: [],
    }, 2)).rejects.toBeInstanceOf(MvccError);
    const kv = (await s.range(rr('d'))).kvs[0]!;
    expect([kv.version, kv.modRevision]).toEqual([1, 2]);
    await s.put(pr('d', '1'), 3);
    expect((await s.range(rr('d'))).kvs[0]!.version).toBe(2);
  });

  it('an environmental failure mid-write rolls back, does not advance the index, and stops the store', async () => {
    const disks = new CrashableDisks();
    const dir = newDir();
    const first = await open(disks, dir);
    await first.put(pr('b', 'old'), 1);
    await first.close();
    const onStorageFailure = vi.fn();
    const s = await open(disks, dir, { onStorageFailure }); // empty cache: reading b needs LevelDB
    disks.disk(dir).failGetMany = () => new Error('EIO on read');
    await expect(s.txn({
      compare: [],
      success: [{ put: pr('a', '1') }, { put: pr('b', '2', { prevKv: true }) }],
      failure: [],
    }, 2)).rejects.toBeInstanceOf(StorageFailure);
    expect(s.index.get('a')).toBeUndefined();
    expect(s.consistentIndex()).toBe(1);
    expect(onStorageFailure).toHaveBeenCalledTimes(1);
    disks.disk(dir).failGetMany = undefined;
    await expect(s.put(pr('c', '3'), 3)).rejects.toBeInstanceOf(StorageFailure);
  });
});
