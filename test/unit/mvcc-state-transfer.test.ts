import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MvccStore, recoverStoreDir, replaceStoreDir, StateImageError } from '../../src/mvcc/index.js';
import { TmpStores, pr, rr, dr, kvt, b, str } from './mvcc-helpers.js';

const t = new TmpStores();
const restored: MvccStore[] = [];
afterEach(async () => {
  for (const s of restored.splice(0)) await s.close().catch(() => {});
  await t.cleanup();
});

const NOFLUSH = { flushIntervalMs: 3_600_000, flushMaxOps: 1_000_000 };

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

/** Replays chunks re-cut at `size` bytes: a transport need not keep the sender's boundaries. */
async function* recut(chunks: Uint8Array[], size: number): AsyncGenerator<Uint8Array> {
  const all = Buffer.concat(chunks);
  for (let o = 0; o < all.length; o += size) yield new Uint8Array(all.subarray(o, o + size));
}

async function* replay(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

async function exists(p: string): Promise<boolean> {
  return readdir(p).then(() => true, () => false);
}

/** Restores into <tmp>/db, registering the store for cleanup. */
async function restoreInto(chunks: AsyncIterable<Uint8Array>, dir?: string): Promise<MvccStore> {
  const target = dir ?? join(await t.dir(), 'db');
  const s = await MvccStore.restoreState(target, chunks, { flushIntervalMs: 5 });
  restored.push(s);
  return s;
}

/** Everything a reader can observe, at each revision from the compact point up. */
async function observe(s: MvccStore, revs: number[]): Promise<unknown> {
  const ranges = [];
  for (const rev of revs) ranges.push((await s.range(rr('\0', '\0', { revision: rev }))).kvs.map(kvt));
  const hashes = [];
  for (const rev of revs) hashes.push((await s.hashKV(rev)).hash);
  return { ranges, hashes, cur: s.currentRevision(), compact: s.compactRevision(), ci: s.consistentIndex() };
}

async function dump(s: MvccStore): Promise<string[]> {
  await s.flush();
  const all = await s.backend.db.iterator().all();
  return all.map(([k, v]) => Buffer.from(k).toString('hex') + '=' + Buffer.from(v).toString('hex'));
}

const revsFrom = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

describe('mvcc state transfer', () => {
  it('export → restore reproduces every revision, compaction mark, consistent index, hash and raw key', async () => {
    const s = await t.open();
    let ci = 0;
    for (let i = 0; i < 30; i++) await s.put(pr('k' + (i % 7), 'v' + i, { lease: BigInt(i % 3) }), ++ci);
    await s.deleteRange(dr('k3'), ++ci);
    await s.txn({ compare: [], success: [{ put: pr('t1', 'x') }, { put: pr('t2', 'y') }, { deleteRange: dr('k4') }], failure: [] }, ++ci);
    await (await s.compact(20, ++ci)).done;
    await s.put(pr('k1', 'after-compact'), ++ci);
    await s.deleteRange(dr('k5'), ++ci);
    s.backend.stageRaw(b('zlease/7'), b('lease-record')); // another module's bucket
    s.setConsistentIndex(ci + 5);

    const chunks = await collect(s.exportState({ chunkBytes: 128 }));
    expect(chunks.length).toBeGreaterThan(5);
    const r = await restoreInto(recut(chunks, 37));

    const revs = revsFrom(20, s.currentRevision());
    expect(await observe(r, revs)).toEqual(await observe(s, revs));
    expect(r.consistentIndex()).toBe(ci + 5);
    expect(r.compactRevision()).toBe(20);
    expect(str((await r.backend.getRaw(b('zlease/7')))!)).toBe('lease-record');
    expect(await dump(r)).toEqual(await dump(s));
    await expect(r.range(rr('k1', '', { revision: 19 }))).rejects.toThrow('compacted');
    // The restored store carries on from the same revision.
    expect((await r.put(pr('new', '1'), ci + 6)).revision).toBe(s.currentRevision() + 1);
  });

  it('includes writes still in the write buffer (the export flushes first)', async () => {
    const s = await t.open(undefined, NOFLUSH);
    await s.put(pr('a', '1'), 1);
    await s.put(pr('b', '2'), 2);
    await (await s.compact(2, 3)).done;
    await s.put(pr('a', '3'), 4);
    const r = await restoreInto(replay(await collect(s.exportState())));
    expect(await observe(r, [2, 3, 4])).toEqual(await observe(s, [2, 3, 4]));
    expect(r.currentRevision()).toBe(4);
  });

  it('an empty store round-trips', async () => {
    const s = await t.open();
    const r = await restoreInto(replay(await collect(s.exportState())));
    expect([r.currentRevision(), r.compactRevision(), r.consistentIndex()]).toEqual([1, -1, 0]);
  });

  it('is a consistent image while writes and a compaction continue during a slow export', async () => {
    const s = await t.open(undefined, { flushIntervalMs: 1, flushMaxOps: 20, compactBatchLimit: 50, compactSleepMs: 0 });
    let ci = 0;
    for (let i = 0; i < 60; i++) {
      const txn = { compare: [], success: Array.from({ length: 20 }, (_, j) => ({ put: pr(`key/${j}/${i % 5}`, `v${i}`) })), failure: [] };
      await s.txn(txn, ++ci);
    }
    const revAtStart = s.currentRevision();
    const before = await observe(s, [revAtStart - 10, revAtStart]);

    const it = s.exportState({ chunkBytes: 512 })[Symbol.asyncIterator]();
    const chunks: Uint8Array[] = [];
    let n = await it.next(); // flush + LevelDB snapshot happen here
    let compaction: Promise<void> | undefined;
    let writes = 0;
    while (!n.done) {
      chunks.push(n.value);
      // Revision i = entry i + 1 throughout: a torn image would break that.
      await s.put(pr(`key/${writes % 20}/0`, 'during'), ++ci);
      if (++writes === 3) compaction = (await s.compact(revAtStart - 5, ++ci)).done;
      await s.flush();
      n = await it.next();
    }
    await compaction;
    expect(writes).toBeGreaterThan(20);

    const r = await restoreInto(replay(chunks));
    expect(r.currentRevision()).toBe(revAtStart);
    expect(r.consistentIndex()).toBe(revAtStart - 1);
    expect(r.compactRevision()).toBe(-1);
    expect(await observe(r, [revAtStart - 10, revAtStart])).toEqual(before);
    // The source moved on (and compacted) without the image seeing it.
    expect(s.currentRevision()).toBeGreaterThan(revAtStart);
    // Applying the same compaction to the image brings the hashes back together.
    await (await r.compact(revAtStart - 5, ci)).done;
    expect((await r.hashKV(revAtStart)).hash).toBe((await s.hashKV(revAtStart)).hash);
  });

  it('an image taken mid-compaction finishes that compaction when restored', async () => {
    const s = await t.open(undefined, { compactBatchLimit: 2, compactSleepMs: 30 });
    let ci = 0;
    for (let i = 0; i < 40; i++) await s.put(pr('k' + (i % 4), 'v' + i), ++ci);
    await s.deleteRange(dr('k0'), ++ci);
    const { done } = await s.compact(30, ++ci);
    await new Promise((r) => setTimeout(r, 40)); // a batch or two deleted, most not
    const chunks = await collect(s.exportState());
    await done;
    const r = await restoreInto(replay(chunks));
    expect(r.compactRevision()).toBe(30);
    await r.compactionDone();
    const revs = revsFrom(30, s.currentRevision());
    expect(await observe(r, revs)).toEqual(await observe(s, revs));
    expect(await dump(r)).toEqual(await dump(s));
  });

  it('a large store streams in many fixed-size chunks and restores whole', async () => {
    const s = await t.open(undefined, { flushMaxOps: 5000 });
    let ci = 0;
    for (let i = 0; i < 20_000; i += 100) {
      const success = Array.from({ length: 100 }, (_, j) => ({ put: pr(`big/${String(i + j).padStart(6, '0')}`, 'x'.repeat(40)) }));
      await s.txn({ compare: [], success, failure: [] }, ++ci);
    }
    const CHUNK = 64 << 10;
    const sizes: number[] = [];
    const kept: Uint8Array[] = [];
    for await (const c of s.exportState({ chunkBytes: CHUNK, readBatch: 500 })) { sizes.push(c.length); kept.push(c); }
    expect(sizes.length).toBeGreaterThan(20);
    expect(sizes.slice(0, -1).every((x) => x === CHUNK)).toBe(true);
    expect(sizes.at(-1)!).toBeLessThanOrEqual(CHUNK);

    const r = await restoreInto(replay(kept));
    expect((await r.range(rr('big/', 'big0', { countOnly: true }))).count).toBe(20_000);
    expect((await r.hashKV(0)).hash).toBe((await s.hashKV(0)).hash);
    expect(r.currentRevision()).toBe(201);
  });

  describe('bad input', () => {
    async function image(): Promise<Uint8Array[]> {
      const s = await t.open();
      for (let i = 0; i < 50; i++) await s.put(pr('k' + i, 'value-' + i), i + 1);
      return collect(s.exportState({ chunkBytes: 256 }));
    }

    async function expectRejected(chunks: AsyncIterable<Uint8Array>, msg: RegExp): Promise<void> {
      const dir = join(await t.dir(), 'db.tmp-9');
      const err = await MvccStore.restoreState(dir, chunks).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(msg);
      expect(await exists(dir)).toBe(false);
    }

    it('a flipped byte in a value fails the checksum and leaves no directory', async () => {
      const all = Buffer.concat(await image());
      const pos = all.indexOf('value-25');
      all[pos + 6] = all[pos + 6]! ^ 0x01;
      await expectRejected(recut([all], 256), /mvcc state image: checksum mismatch/);
    });

    it('every single-byte corruption is caught', async () => {
      const all = Buffer.concat(await image());
      // Header, a pair head, a value byte, the trailer count and the CRC itself.
      for (const pos of [3, 9, 40, 41, 45, 60, all.length - 10, all.length - 1]) {
        const bad = new Uint8Array(all);
        bad[pos] = bad[pos]! ^ 0x40;
        const dir = join(await t.dir(), 'db');
        const err = await MvccStore.restoreState(dir, recut([bad], 100)).catch((e: unknown) => e);
        expect(err, `byte ${pos}`).toBeInstanceOf(StateImageError);
        expect(await exists(dir)).toBe(false);
      }
    });

    it('a truncated stream fails', async () => {
      const chunks = await image();
      await expectRejected(replay(chunks.slice(0, -1)), /truncated or corrupt/);
    });

    it('a stream that errors midway (transport failure) removes the partial directory', async () => {
      const chunks = await image();
      async function* broken(): AsyncGenerator<Uint8Array> {
        yield chunks[0]!; yield chunks[1]!;
        throw new Error('peer connection reset');
      }
      await expectRejected(broken(), /peer connection reset/);
    });

    it('garbage is not an image', async () => {
      await expectRejected(replay([new TextEncoder().encode('this is not a snapshot at all, really not')]), /bad magic/);
    });

    it('refuses a non-empty target and leaves it alone', async () => {
      const chunks = await image();
      const dir = await t.dir();
      await writeFile(join(dir, 'precious'), 'x');
      await expect(MvccStore.restoreState(dir, replay(chunks))).rejects.toThrow(/not empty/);
      expect(await readdir(dir)).toEqual(['precious']);
    });
  });
});

describe('store directory swap', () => {
  /** root/db holds "old" (closed); returns root and a closed, complete restored image at root/db.tmp-5 holding "new". */
  async function setup(): Promise<{ root: string; db: string; tmp: string }> {
    const root = await t.dir();
    const db = join(root, 'db');
    const old = await MvccStore.open(db, { flushIntervalMs: 5 });
    await old.put(pr('who', 'old'), 1);
    await old.close();
    const src = await t.open();
    await src.put(pr('who', 'new'), 1);
    await src.put(pr('extra', 'y'), 2);
    const tmp = join(root, 'db.tmp-5');
    const restored = await MvccStore.restoreState(tmp, src.exportState());
    await restored.close();
    return { root, db, tmp };
  }

  async function who(db: string): Promise<string> {
    const s = await t.open(db);
    const v = str((await s.range(rr('who'))).kvs[0]!.value);
    await s.close();
    return v;
  }

  it('replaceStoreDir swaps in the restored store and leaves nothing behind', async () => {
    const { root, db, tmp } = await setup();
    await replaceStoreDir(db, tmp);
    expect((await readdir(root)).sort()).toEqual(['db']);
    expect(await who(db)).toBe('new');
  });

  it('works when there was no current store yet', async () => {
    const { root, db, tmp } = await setup();
    await rename(db, join(root, 'elsewhere'));
    await replaceStoreDir(db, tmp);
    expect(await who(db)).toBe('new');
  });

  // On-disk states a crash can leave after each step of replaceStoreDir.
  const crashAfter: Record<string, (p: { db: string; tmp: string }) => Promise<void>> = {
    'step 1 (db + db.new)': async ({ db, tmp }) => { await rename(tmp, db + '.new'); },
    'step 2 (db.old + db.new)': async ({ db, tmp }) => { await rename(tmp, db + '.new'); await rename(db, db + '.old'); },
    'step 3 (db + db.old)': async ({ db, tmp }) => {
      await rename(tmp, db + '.new'); await rename(db, db + '.old'); await rename(db + '.new', db);
    },
  };

  for (const [name, crash] of Object.entries(crashAfter)) {
    it(`recovery after a crash following ${name} rolls forward`, async () => {
      const { root, db, tmp } = await setup();
      await crash({ db, tmp });
      expect(await recoverStoreDir(db)).not.toBe('restored-old');
      expect((await readdir(root)).sort()).toEqual(['db']);
      expect(await who(db)).toBe('new');
    });

    it(`MvccStore.open alone also recovers after ${name}`, async () => {
      const { db, tmp } = await setup();
      await crash({ db, tmp });
      expect(await who(db)).toBe('new');
      expect(await exists(db + '.new')).toBe(false);
      expect(await exists(db + '.old')).toBe(false);
    });
  }

  it('a crash before the commit point keeps the old store and drops the unfinished restore', async () => {
    const { root, db } = await setup();
    // db.tmp-5 is complete, plus a half-written one: neither was committed.
    await mkdir(join(root, 'db.tmp-6'));
    await writeFile(join(root, 'db.tmp-6', 'LOG'), 'partial');
    expect(await recoverStoreDir(db)).toBe('none');
    expect((await readdir(root)).sort()).toEqual(['db']);
    expect(await who(db)).toBe('old');
  });

  it('puts back a store that was moved to db.old with nothing to replace it', async () => {
    const { root, db } = await setup();
    await rename(db, db + '.old');
    expect(await recoverStoreDir(db)).toBe('restored-old');
    expect((await readdir(root)).sort()).toEqual(['db']); // the uncommitted db.tmp-5 went too
    expect(await who(db)).toBe('old');
  });
});
