import { readFileSync, write as fsWrite, writeSync } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryType, type Entry, type HardState } from '../../src/raft/types.js';
import { WAL, WalCorruptError, WalSnapshotNotFoundError, type WalFile } from '../../src/wal/index.js';
import { RecordBatch, RecordType } from '../../src/wal/record.js';
import { listSegments } from '../../src/wal/segment.js';

const META = new TextEncoder().encode('node=1 cluster=42');
const SEG = 4096;

function ent(index: number, term = 1, size = 100): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + i) & 0xff || 1;
  return { index, term, type: EntryType.Normal, data, encoded: undefined };
}

const range = (from: number, to: number, term = 1): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ent(from + i, term));

/** Saves [from, to] a few entries per call, so small segments get cut often. */
async function fill(w: WAL, from: number, to: number, term = 1, hard?: HardState): Promise<void> {
  for (let i = from; i <= to; i += 4) await w.save(hard, range(i, Math.min(i + 3, to), term));
}

const hs = (term: number, commit: number, vote = 1n): HardState => ({ term, vote, commit });

let base: string;
let dir: string;
const opened: WAL[] = [];

async function create(segmentSizeBytes = SEG): Promise<WAL> {
  const w = await WAL.create(dir, META, { segmentSizeBytes });
  opened.push(w);
  return w;
}

async function reopen(snap?: { index: number; term: number }, segmentSizeBytes = SEG) {
  const r = await WAL.open(dir, snap, { segmentSizeBytes });
  opened.push(r.wal);
  return r;
}

async function segFiles(): Promise<string[]> {
  return (await listSegments(dir)).map((s) => s.name);
}

/** File offsets of each record in a segment, by walking the frames. */
async function recordOffsets(file: string): Promise<number[]> {
  const buf = await readFile(file);
  const offs: number[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const lo = buf.readUInt32LE(off);
    const hi = buf.readUInt32LE(off + 4);
    if (lo === 0 && hi === 0) break;
    offs.push(off);
    off += 8 + lo + ((hi >>> 24) & 7);
  }
  offs.push(off); // end of data
  return offs;
}

async function flipBit(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, offset);
  b[0] ^= 0x10;
  await fh.write(b, 0, 1, offset);
  await fh.close();
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'etcd-ts-wal-'));
  dir = join(base, 'member', 'wal');
});

afterEach(async () => {
  for (const w of opened.splice(0)) await w.close();
  await rm(base, { recursive: true, force: true });
});

describe('WAL create/open', () => {
  it('creates the first segment atomically and reports existence', async () => {
    expect(await WAL.exists(dir)).toBe(false);
    await create();
    expect(await WAL.exists(dir)).toBe(true);
    expect(await segFiles()).toEqual(['0000000000000000-0000000000000000.wal']);
    expect((await readdir(join(base, 'member'))).sort()).toEqual(['wal']);
    await expect(WAL.create(dir, META)).rejects.toThrow(/already exists/);
  });

  it('replays metadata, hard state and entries', async () => {
    const w = await create();
    await w.save(hs(1, 0), range(1, 3));
    await w.save(hs(2, 3), range(4, 5, 2));
    await w.close();
    const r = await reopen();
    expect(new TextDecoder().decode(r.metadata)).toBe('node=1 cluster=42');
    expect(r.hardState).toEqual(hs(2, 3));
    expect(r.entries.map((e) => [e.index, e.term])).toEqual([
      [1, 1], [2, 1], [3, 1], [4, 2], [5, 2],
    ]);
    expect(r.entries[2]!.data).toEqual(ent(3).data);
  });

  it('replays many records across several segments', async () => {
    const w = await create();
    for (let i = 1; i <= 400; i += 4) await w.save(hs(1, i - 1), range(i, i + 3));
    await w.close();
    const segs = await listSegments(dir);
    expect(segs.length).toBeGreaterThan(5);
    segs.forEach((s, i) => expect(s.seq).toBe(i));
    for (let i = 1; i < segs.length; i++) expect(segs[i]!.index).toBeGreaterThan(segs[i - 1]!.index);
    // Finished segments are trimmed to their data.
    for (const s of segs.slice(0, -1)) expect((await stat(join(dir, s.name))).size).toBeLessThan(SEG + 1024);

    const r = await reopen();
    expect(r.entries.length).toBe(400);
    r.entries.forEach((e, i) => {
      expect(e.index).toBe(i + 1);
      expect(e.data).toEqual(ent(i + 1).data);
    });
    expect(r.hardState).toEqual(hs(1, 396));

    // Appending after reopen continues the chain and the segment sequence.
    await r.wal.save(hs(2, 400), range(401, 450, 2));
    await r.wal.close();
    const r2 = await reopen();
    expect(r2.entries.length).toBe(450);
    expect(r2.entries[449]!.term).toBe(2);
    expect(r2.hardState).toEqual(hs(2, 400));
  });

  it('skips hard states equal to the last saved one', async () => {
    const w = await create(1 << 20);
    await w.save(hs(1, 1), []);
    const before = (await recordOffsets(join(dir, (await segFiles())[0]!))).length;
    await w.save(hs(1, 1), []);
    await w.save(undefined, []);
    await w.save({ ...hs(1, 1) }, []);
    expect((await recordOffsets(join(dir, (await segFiles())[0]!))).length).toBe(before);
    await w.save(hs(1, 2), []);
    expect((await recordOffsets(join(dir, (await segFiles())[0]!))).length).toBe(before + 1);
    await w.close();
    expect((await reopen()).hardState).toEqual(hs(1, 2));
  });

  it('lets later entries overwrite earlier ones and drop the suffix (raft truncation)', async () => {
    const w = await create();
    await w.save(hs(1, 2), range(1, 10));
    await w.save(hs(2, 2), range(5, 6, 2)); // a new leader rewrote 5.. and dropped 7..10
    await w.save(undefined, range(7, 7, 2));
    await w.close();
    const r = await reopen();
    expect(r.entries.map((e) => `${e.index}/${e.term}`)).toEqual(['1/1', '2/1', '3/1', '4/1', '5/2', '6/2', '7/2']);
  });

  it('applies truncation across segment boundaries', async () => {
    const w = await create();
    await fill(w, 1, 100, 1, hs(1, 1));
    expect((await segFiles()).length).toBeGreaterThan(1);
    await w.save(hs(3, 1), range(2, 3, 3));
    await w.close();
    const r = await reopen();
    expect(r.entries.map((e) => `${e.index}/${e.term}`)).toEqual(['1/1', '2/3', '3/3']);
  });

  it('rejects a log with a gap', async () => {
    const w = await create(1 << 20);
    await w.save(hs(1, 1), range(1, 3));
    await w.save(undefined, range(5, 5));
    await w.close();
    await expect(reopen()).rejects.toThrow(/gap/);
  });
});

describe('WAL group commit', () => {
  it('keeps call order and batches concurrent saves into few fsyncs', async () => {
    const w = await create(64 * 1024);
    const n = 500;
    const done: number[] = [];
    const ps: Promise<void>[] = [];
    for (let i = 1; i <= n; i++) {
      ps.push(w.save(hs(1, i - 1), [ent(i)]).then(() => void done.push(i)));
    }
    await Promise.all(ps);
    expect(done).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(w.fsyncCount).toBeLessThan(n / 4);
    // Interleave: callers that save again as soon as they are acknowledged.
    let next = n + 1;
    const workers = Array.from({ length: 16 }, async () => {
      for (let k = 0; k < 20; k++) {
        const i = next++;
        await w.save(hs(1, i - 1), [ent(i)]);
      }
    });
    await Promise.all(workers);
    await w.close();
    const r = await reopen();
    expect(r.entries.length).toBe(n + 320);
    r.entries.forEach((e, i) => expect(e.index).toBe(i + 1));
    expect(r.hardState).toEqual(hs(1, n + 319));
    expect((await segFiles()).length).toBeGreaterThan(1);
  });

  it('acknowledges a save only once its bytes are in the file, batch after batch', async () => {
    const w = await create(1024 * 1024);
    const [seg] = await segFiles();
    const file = join(dir, seg!);
    const late: number[] = [];
    const ps: Promise<void>[] = [];
    // Three waves: each arrives while the previous batch's write is in flight.
    for (let wave = 0; wave < 3; wave++) {
      for (let k = 0; k < 50; k++) {
        const e = ent(wave * 50 + k + 1);
        ps.push(
          w.save(undefined, [e]).then(() => {
            // Synchronously, in the acknowledgement: the record must already be there.
            if (readFileSync(file).indexOf(Buffer.from(e.data)) < 0) late.push(e.index);
          }),
        );
      }
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(ps);
    expect(late).toEqual([]);
    expect(w.fsyncCount).toBeLessThan(150);
  });

  it('a failed write rejects every save of its batch and every save after it: nothing is acknowledged', async () => {
    const w = await create();
    await w.save(hs(1, 0), [ent(1)]);
    // The descriptor goes bad under the WAL (as a dying disk would make writes fail).
    const internals = w as unknown as { fh: Pick<WalFile, 'write' | 'close'> };
    const real = internals.fh;
    internals.fh = {
      // A descriptor open in no process: EBADF from write(2).
      write: (buf, off, len, pos, cb) => fsWrite(2_000_000_000, buf, off, len, pos, cb),
      close: async () => {},
    };
    const batch = [w.save(undefined, [ent(2)]), w.save(undefined, [ent(3)]), w.save(hs(1, 2), [ent(4)])];
    const outcomes = await Promise.allSettled(batch);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const o of outcomes) expect((o as PromiseRejectedResult).reason.message).toMatch(/WAL failed, refusing further writes: EBADF/);
    await expect(w.save(undefined, [ent(5)])).rejects.toThrow(/WAL failed/);
    await real.close();
    expect((await reopen()).entries.map((e) => e.index)).toEqual([1]);
  });

  it('fails only the bad request and keeps going', async () => {
    const w = await create();
    const good1 = w.save(hs(1, 0), [ent(1)]);
    const bad = w.save(undefined, [{ ...ent(2), index: -1 }]);
    const good2 = w.save(undefined, [ent(2)]);
    const outcomes = await Promise.allSettled([good1, bad, good2]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await w.close();
    await expect(w.save(undefined, [ent(3)])).rejects.toThrow(/closed/);
    expect((await reopen()).entries.map((e) => e.index)).toEqual([1, 2]);
  });
});

describe('WAL inline writes (saveNow: a follower\'s small appends on the calling thread)', () => {
  /** Counts the segment file's writes each way; `slowOnce` makes the next inline write take that long. */
  function spyOnWrites(w: WAL) {
    const internals = w as unknown as { fh: WalFile };
    const real = internals.fh;
    const counts = { pool: 0, inline: 0 };
    let slowOnce = 0;
    internals.fh = new Proxy(real, {
      get(target, prop) {
        if (prop === 'write') {
          return (...args: Parameters<WalFile['write']>) => {
            counts.pool++;
            target.write(...args);
          };
        }
        if (prop === 'writeSync') {
          return (buf: Uint8Array, off: number, len: number, pos: number) => {
            counts.inline++;
            const until = performance.now() + slowOnce;
            slowOnce = 0;
            while (performance.now() < until);
            return target.writeSync!(buf, off, len, pos);
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return { counts, slowNext: (ms: number) => void (slowOnce = ms) };
  }

  /** As if the last write had been quick (a loaded test machine's fsync can take over 10 ms). */
  const lastWriteQuick = (w: WAL): void => void ((w as unknown as { lastWriteMs: number }).lastWriteMs = 0);

  it('writes small batches on the calling thread (saveNow), refuses large ones and while a save is queued, and replays them all in order', async () => {
    const w = await create(1024 * 1024);
    const spy = spyOnWrites(w);
    await w.save(hs(1, 0), [ent(1)]);
    expect(spy.counts).toEqual({ pool: 1, inline: 0 });
    lastWriteQuick(w);
    expect(w.canSaveNow([ent(2)])).toBe(true);
    expect(w.saveNow(hs(1, 1), [ent(2)])).toBe(true);
    lastWriteQuick(w);
    expect(w.saveNow(undefined, [ent(3), ent(4)])).toBe(true);
    expect(spy.counts).toEqual({ pool: 1, inline: 2 });
    // Above 8 KiB: refused, nothing written; save() takes it through the pool.
    lastWriteQuick(w);
    expect(w.canSaveNow([ent(5, 1, 9000)])).toBe(false);
    expect(w.saveNow(undefined, [ent(5, 1, 9000)])).toBe(false);
    expect(spy.counts).toEqual({ pool: 1, inline: 2 });
    await w.save(undefined, [ent(5, 1, 9000)]);
    expect(spy.counts).toEqual({ pool: 2, inline: 2 });
    // A save queued and not yet written: an inline write would overtake it.
    lastWriteQuick(w);
    const queued = w.save(undefined, [ent(6)]);
    expect(w.saveNow(undefined, [ent(7)])).toBe(false);
    await queued;
    lastWriteQuick(w);
    expect(w.saveNow(undefined, [ent(7)])).toBe(true);
    expect(spy.counts).toEqual({ pool: 3, inline: 3 });
    await w.close();
    expect(w.saveNow(undefined, [ent(8)])).toBe(false);
    const r = await reopen(undefined, 1024 * 1024);
    expect(r.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(r.hardState).toEqual(hs(1, 1));
  });

  it('returns from an inline save only once its bytes are in the file', async () => {
    const w = await create(1024 * 1024);
    const spy = spyOnWrites(w);
    const [seg] = await segFiles();
    const e = ent(1);
    lastWriteQuick(w);
    expect(w.saveNow(undefined, [e])).toBe(true);
    expect(readFileSync(join(dir, seg!)).indexOf(Buffer.from(e.data))).toBeGreaterThan(0);
    expect(spy.counts.inline).toBe(1);
  });

  it('after a slow write, refuses until a write through the pool is quick again', async () => {
    const w = await create(1024 * 1024);
    const spy = spyOnWrites(w);
    lastWriteQuick(w);
    expect(w.saveNow(undefined, [ent(1)])).toBe(true);
    spy.slowNext(15); // a disk that stalls: this write takes 15 ms, over the 10 ms bound
    expect(w.saveNow(undefined, [ent(2)])).toBe(true);
    expect(w.saveNow(undefined, [ent(3)])).toBe(false); // the thread is not blocked twice in a row
    await w.save(undefined, [ent(3)]);
    expect(spy.counts).toEqual({ pool: 1, inline: 2 });
    // Inline again after the first quick write (on a loaded machine a pool write may
    // itself take over 10 ms: then the next one goes to the pool too).
    let index = 3;
    while (!w.saveNow(undefined, [ent(index + 1)]) && index < 23) await w.save(undefined, [ent(++index)]);
    index++;
    expect(spy.counts.inline).toBe(3);
    expect(spy.counts.pool).toBe(index - 3);
    await w.close();
    expect((await reopen(undefined, 1024 * 1024)).entries.map((x) => x.index)).toEqual(range(1, index).map((e) => e.index));
  });

  it('takes a tighter bound on the last write when given one (a leader with other clients to serve)', async () => {
    const w = await create(1024 * 1024);
    const spy = spyOnWrites(w);
    lastWriteQuick(w);
    expect(w.saveNow(undefined, [ent(1)], 1)).toBe(true);
    lastWriteQuick(w); // whatever this machine's fsync of ent(1) took: only the 3 ms below counts
    spy.slowNext(3); // 3 ms: under the default bound, over this one
    expect(w.saveNow(undefined, [ent(2)], 1)).toBe(true);
    expect(w.canSaveNow([ent(3)], 1)).toBe(false);
    expect(w.saveNow(undefined, [ent(3)], 1)).toBe(false);
    // The default bound: a 3 ms write does not refuse the next one.
    (w as unknown as { lastWriteMs: number }).lastWriteMs = 3; // as measured, whatever this machine's fsync took
    expect(w.saveNow(undefined, [ent(3)])).toBe(true);
    expect(spy.counts).toEqual({ pool: 0, inline: 3 });
    await w.close();
  });

  it('a request that cannot be encoded fails alone; the WAL goes on', async () => {
    const w = await create(1024 * 1024);
    lastWriteQuick(w);
    expect(w.saveNow(hs(1, 1), [ent(1)])).toBe(true);
    lastWriteQuick(w);
    expect(() => w.saveNow(hs(1, 2), [ent(2), { ...ent(3), index: -1 }])).toThrow();
    expect(w.saveNow(hs(1, 2), [ent(2)])).toBe(true);
    await w.save(undefined, [ent(3)]);
    await w.close();
    const r = await reopen(undefined, 1024 * 1024);
    expect(r.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(r.hardState).toEqual(hs(1, 2));
  });

  it('an inline write that fills the segment starts the next one in the background; saves wait for it', async () => {
    const w = await create(); // 4 KiB segments: ~20 entries of 100 B
    let index = 0;
    for (;;) {
      lastWriteQuick(w);
      expect(w.saveNow(hs(1, index + 1), [ent(++index)])).toBe(true);
      if ((await segFiles()).length > 1 || !w.canSaveNow([ent(index + 1)])) break;
    }
    // The cut is under way: no inline write until it is done; a save queues behind it.
    expect(w.canSaveNow([ent(index + 1)])).toBe(false);
    await w.save(hs(1, index + 1), [ent(++index)]);
    lastWriteQuick(w);
    expect(w.saveNow(undefined, [ent(++index)])).toBe(true);
    await w.close();
    const segs = await segFiles();
    expect(segs.length).toBe(2);
    const r = await reopen();
    expect(r.entries.map((e) => e.index)).toEqual(range(1, index).map((e) => e.index));
    expect(r.hardState).toEqual(hs(1, index - 1));
  });

  it('a failed inline write fails the WAL as a failed pool write does', async () => {
    const w = await create();
    await w.save(hs(1, 0), [ent(1)]);
    lastWriteQuick(w);
    const internals = w as unknown as { fh: Pick<WalFile, 'write' | 'writeSync' | 'close'> };
    const real = internals.fh;
    internals.fh = {
      write: (buf, off, len, pos, cb) => fsWrite(2_000_000_000, buf, off, len, pos, cb),
      writeSync: (buf, off, len, pos) => writeSync(2_000_000_000, buf, off, len, pos),
      close: async () => {},
    };
    expect(() => w.saveNow(undefined, [ent(2)])).toThrow(/WAL failed, refusing further writes: EBADF/);
    expect(w.saveNow(undefined, [ent(3)])).toBe(false);
    await expect(w.save(undefined, [ent(3)])).rejects.toThrow(/WAL failed/);
    await real.close();
    expect((await reopen()).entries.map((e) => e.index)).toEqual([1]);
  });
});

describe('WAL torn tail repair', () => {
  it('truncates a half-written last record, keeps a .broken copy, then appends and reopens', async () => {
    const w = await create(1 << 20);
    await w.save(hs(1, 5), range(1, 10));
    await w.close();
    const file = join(dir, (await segFiles())[0]!);
    const offs = await recordOffsets(file);
    const lastStart = offs[offs.length - 3]!; // last entry record (the state record follows)
    await truncate(file, lastStart + 40);

    const r = await reopen(undefined, 1 << 20);
    expect(r.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.hardState).toEqual({ term: 0, vote: 0n, commit: 0 });
    expect((await readdir(dir)).some((n) => n.endsWith('.wal.broken'))).toBe(true);

    await r.wal.save(hs(2, 9), range(10, 12, 2));
    await r.wal.close();
    const r2 = await reopen(undefined, 1 << 20);
    expect(r2.entries.map((e) => `${e.index}/${e.term}`).slice(-4)).toEqual(['9/1', '10/2', '11/2', '12/2']);
    expect(r2.hardState).toEqual(hs(2, 9));
  });

  it('treats zeroed sectors at the end of the last record as torn', async () => {
    const w = await create(1 << 20);
    await w.save(hs(1, 1), range(1, 4));
    await w.save(undefined, [ent(5, 1, 3000)]); // spans several sectors
    await w.close();
    const file = join(dir, (await segFiles())[0]!);
    const offs = await recordOffsets(file);
    const last = offs[offs.length - 2]!;
    const end = offs[offs.length - 1]!;
    // The sector holding the record's start made it to disk, later ones did not.
    const zeroFrom = (Math.floor(last / 512) + 1) * 512;
    const fh = await open(file, 'r+');
    await fh.write(Buffer.alloc(end - zeroFrom), 0, end - zeroFrom, zeroFrom);
    await fh.close();

    const r = await reopen(undefined, 1 << 20);
    expect(r.entries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(r.hardState).toEqual(hs(1, 1));
    await r.wal.save(undefined, [ent(5, 2)]);
    await r.wal.close();
    expect((await reopen(undefined, 1 << 20)).entries.map((e) => `${e.index}/${e.term}`)).toEqual([
      '1/1', '2/1', '3/1', '4/1', '5/2',
    ]);
  });

  it('cuts off garbage after a zero length word in the last segment', async () => {
    const w = await create(1 << 20);
    await w.save(hs(1, 1), range(1, 3));
    await w.close();
    const file = join(dir, (await segFiles())[0]!);
    const offs = await recordOffsets(file);
    const end = offs[offs.length - 1]!;
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from('stale bytes from a torn write'), 0, 29, end + 600);
    await fh.close();
    const r = await reopen(undefined, 1 << 20);
    expect(r.entries.length).toBe(3);
    await r.wal.save(undefined, range(4, 200));
    await r.wal.close();
    expect((await reopen(undefined, 1 << 20)).entries.length).toBe(200);
  });
});

describe('WAL corruption', () => {
  it('refuses a flipped bit in the middle of the last segment', async () => {
    const w = await create(1 << 20);
    await w.save(hs(1, 1), range(1, 20));
    await w.close();
    const name = (await segFiles())[0]!;
    const file = join(dir, name);
    const offs = await recordOffsets(file);
    const victim = offs[10]!;
    await flipBit(file, victim + 16 + 20);
    const err = await reopen(undefined, 1 << 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalCorruptError);
    const msg = (err as Error).message;
    expect(msg).toContain(name);
    expect(msg).toContain(`offset ${victim}`);
    expect(msg).toMatch(/crc mismatch: expected 0x[0-9a-f]{8} \(stored\), got 0x[0-9a-f]{8}/);
    expect((await readdir(dir)).some((n) => n.endsWith('.broken'))).toBe(false);
  });

  it('refuses a flipped bit in an early segment even when later ones are fine', async () => {
    const w = await create();
    await fill(w, 1, 200, 1, hs(1, 1));
    for (let i = 201; i <= 300; i++) await w.save(undefined, [ent(i)]);
    await w.close();
    const names = await segFiles();
    expect(names.length).toBeGreaterThanOrEqual(3);
    const file = join(dir, names[1]!);
    const offs = await recordOffsets(file);
    await flipBit(file, offs[4]! + 30);
    const err = await reopen().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalCorruptError);
    expect((err as WalCorruptError).file).toBe(file);
    expect((err as Error).message).toContain(names[1]!);
  });

  it('refuses a flipped bit in a length word', async () => {
    const w = await create(1 << 20);
    await w.save(hs(1, 1), range(1, 20));
    await w.close();
    const file = join(dir, (await segFiles())[0]!);
    const offs = await recordOffsets(file);
    // Length grows by 16: the record swallows part of the next one, no zero sector.
    await flipBit(file, offs[6]!);
    await expect(reopen(undefined, 1 << 20)).rejects.toBeInstanceOf(WalCorruptError);
  });

  it('refuses a record with a valid crc that does not decode', async () => {
    const w = await create(1 << 20);
    await w.save(hs(1, 1), range(1, 2));
    await w.close();
    const file = join(dir, (await segFiles())[0]!);
    const offs = await recordOffsets(file);
    const end = offs[offs.length - 1]!;
    // Rebuild the chain up to the end to append a well-formed but meaningless entry.
    const { crc32cChainOf } = await chainHelper(file, end);
    const b = new RecordBatch(crc32cChainOf);
    b.add(RecordType.Entry, Uint8Array.of(0x1f, 0xff, 0xff)); // field 3, wire type 7
    b.add(RecordType.Entry, new Uint8Array((await import('../../src/raft/codec.js')).encodeEntry(ent(3))));
    const fh = await open(file, 'r+');
    await fh.write(b.bytes(), 0, b.length, end);
    await fh.close();
    await expect(reopen(undefined, 1 << 20)).rejects.toThrow(/undecodable entry/);
  });

  it('refuses a missing segment in the middle', async () => {
    const w = await create();
    await fill(w, 1, 200, 1, hs(1, 1));
    await w.close();
    const names = await segFiles();
    expect(names.length).toBeGreaterThan(2);
    await rm(join(dir, names[1]!));
    await expect(reopen()).rejects.toThrow(/out of sequence/);
  });
});

/** CRC chain value after all records before `end`, recomputed independently. */
async function chainHelper(file: string, end: number): Promise<{ crc32cChainOf: number }> {
  const { readFrame, recordCrc } = await import('../../src/wal/record.js');
  const buf = new Uint8Array(await readFile(file));
  let off = 0;
  let crc = 0;
  while (off < end) {
    const f = readFrame(buf, off);
    if (f.kind !== 'record') throw new Error('bad walk');
    crc = f.type === RecordType.Crc ? f.crc : recordCrc(f.type, f.data, crc);
    off = f.end;
  }
  return { crc32cChainOf: crc };
}

describe('WAL snapshots and release', () => {
  it('requires the snapshot marker matching the snapshot', async () => {
    const w = await create(1 << 20);
    await w.save(hs(1, 10), range(1, 10));
    await w.saveSnapshot({ index: 5, term: 1 });
    await w.close();
    await expect(reopen({ index: 6, term: 1 }, 1 << 20)).rejects.toBeInstanceOf(WalSnapshotNotFoundError);
    await expect(reopen({ index: 5, term: 2 }, 1 << 20)).rejects.toThrow(/term/);
    const r = await reopen({ index: 5, term: 1 }, 1 << 20);
    expect(r.entries.map((e) => e.index)).toEqual([6, 7, 8, 9, 10]);
    expect(r.hardState).toEqual(hs(1, 10));
  });

  it('releaseTo deletes wholly older segments; open from the snapshot still works', async () => {
    const w = await create();
    await fill(w, 1, 120, 1, hs(1, 1));
    await fill(w, 121, 240, 2, hs(2, 150));
    const before = await listSegments(dir);
    expect(before.length).toBeGreaterThan(4);
    await w.saveSnapshot({ index: 200, term: 2 });
    await w.releaseTo(200);
    const after = await listSegments(dir);
    expect(after.length).toBeLessThan(before.length);
    expect(after[0]!.index).toBeLessThanOrEqual(200);
    const holder = before.filter((s) => s.index <= 200).at(-1)!;
    expect(after[0]!.name).toBe(holder.name);
    await w.save(undefined, range(241, 250, 2));
    await w.close();

    const r = await reopen({ index: 200, term: 2 });
    expect(r.entries.map((e) => e.index)).toEqual(Array.from({ length: 50 }, (_, i) => 201 + i));
    // The hard state was last written in a now-deleted segment; each cut repeats it.
    expect(r.hardState).toEqual(hs(2, 150));
    await r.wal.close();
    await expect(reopen()).rejects.toBeInstanceOf(WalSnapshotNotFoundError);
  });

  it('never releases the segment being written', async () => {
    const w = await create();
    await fill(w, 1, 60, 1, hs(1, 1));
    const n = (await listSegments(dir)).length;
    await w.releaseTo(1_000_000);
    const left = await listSegments(dir);
    expect(left.length).toBe(1);
    expect(n).toBeGreaterThan(1);
    await w.save(undefined, range(61, 62));
    await w.saveSnapshot({ index: 62, term: 1 });
    await w.close();
    expect((await reopen({ index: 62, term: 1 })).entries).toEqual([]);
  });

  it('removes leftover pipeline files on open', async () => {
    const w = await create();
    await w.save(hs(1, 1), range(1, 3));
    await w.close();
    await writeFile(join(dir, '1.wal.tmp'), 'junk');
    await reopen();
    expect((await readdir(dir)).filter((n) => n === '1.wal.tmp')).toEqual([]);
  });
});
