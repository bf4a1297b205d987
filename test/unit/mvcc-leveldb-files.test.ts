// Reading LevelDB's files directly (src/mvcc/leveldb-files/): the snapshot's
// point-in-time scan must return exactly what LevelDB's own iterator returns,
// keep returning it after LevelDB compacts the files away, and not map the
// tables into the process (the point of reading them with pread).

import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelKvDb, type BatchOp } from '../../src/mvcc/db.js';
import { snappyUncompress } from '../../src/mvcc/leveldb-files/snappy.js';
import { LOG_BLOCK, LogRecordReader } from '../../src/mvcc/leveldb-files/log-records.js';
import type { TableSet } from '../../src/mvcc/leveldb-files/table-set.js';
import { readLiveTables } from '../../src/mvcc/leveldb-files/version.js';
import { crc32c } from '../../src/util/crc32c.js';
import { META_CONSISTENT_INDEX, REV_PREFIX } from '../../src/mvcc/keyspace.js';
import { readU64 } from '../../src/mvcc/revision.js';
import { TmpStores, pr } from './mvcc-helpers.js';

const dirs: string[] = [];
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close().catch(() => {});
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tmpDb(): Promise<{ db: LevelKvDb; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ldb-files-'));
  dirs.push(dir);
  // LevelDB's own default memtable (4 MiB; the member's is bigger), so these loads span several tables.
  const db = new LevelKvDb(dir, 4 << 20);
  await db.open();
  open.push(db);
  return { db, dir };
}

/** A deterministic generator (mulberry32), so a failure can be rerun. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(r: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

const key = (i: number): Uint8Array => Buffer.from(`k${String(i).padStart(6, '0')}`);

/** Puts (incompressible and snappy-compressible values), overwrites and deletes in random order, across several tables and levels. */
async function churn(db: LevelKvDb, r: () => number, rounds: number, keySpace: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const ops: BatchOp[] = [];
    for (let i = 0; i < 100; i++) {
      const k = key((r() * keySpace) | 0);
      const p = r();
      if (p < 0.1) ops.push({ type: 'del', key: k });
      else if (p < 0.5) ops.push({ type: 'put', key: k, value: randomBytes(r, 1 + ((r() * 12_000) | 0)) });
      else ops.push({ type: 'put', key: k, value: Buffer.from(`value ${round} `.repeat(1 + ((r() * 400) | 0))) });
    }
    await db.batch(ops);
    // Push part of the keys to the deeper levels, so the scan merges level 0 with sorted levels.
    if (round === Math.floor(rounds / 2)) await db.compactRange(key(0), key(keySpace / 2));
  }
}

async function scanAll(ts: TableSet, gte: Uint8Array, lt: Uint8Array | undefined, maxEntries = 1000, maxBytes = 1 << 20): Promise<[Uint8Array, Uint8Array][]> {
  const out: [Uint8Array, Uint8Array][] = [];
  for await (const batch of ts.scan({ gte, lt, maxEntries, maxBytes })) {
    expect(batch.length).toBeGreaterThan(0);
    expect(batch.length).toBeLessThanOrEqual(maxEntries);
    out.push(...batch);
  }
  return out;
}

const hex = (pairs: [Uint8Array, Uint8Array][]): string[] => pairs.map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);

/** Resident bytes of this process's mappings of files in `dir` (/proc/self/smaps). */
async function mappedRss(dir: string): Promise<number> {
  const smaps = await readFile('/proc/self/smaps', 'utf8');
  let total = 0;
  let inDir = false;
  for (const line of smaps.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inDir = line.includes(dir);
    else if (inDir && line.startsWith('Rss:')) total += Number(line.split(/\s+/)[1]) * 1024;
  }
  return total;
}

describe('snappy', () => {
  it('uncompresses literals and back-references, overlapping ones included', () => {
    // "abc" literal, then a 1-byte-offset copy of 9 bytes from 3 back (a run).
    expect(Buffer.from(snappyUncompress(Uint8Array.of(12, 0x08, 97, 98, 99, 0x15, 3))).toString()).toBe('abcabcabcabc');
    // A 2-byte-offset copy (tag 2): "xy" then copy 4 bytes from offset 2.
    expect(Buffer.from(snappyUncompress(Uint8Array.of(6, 0x04, 120, 121, (3 << 2) | 2, 2, 0))).toString()).toBe('xyxyxy');
    // A 4-byte-offset copy (tag 3) and a literal with a 1-byte length (60).
    const lit = Buffer.alloc(70, 0x41);
    const src = Buffer.concat([Buffer.from([75, 60 << 2, 69]), lit, Buffer.from([(4 << 2) | 3, 70, 0, 0, 0])]);
    expect(Buffer.from(snappyUncompress(src)).toString()).toBe('A'.repeat(75));
  });

  it('refuses malformed input', () => {
    expect(() => snappyUncompress(Uint8Array.of(5, 0x08, 97, 98, 99))).toThrow(/short output/);
    expect(() => snappyUncompress(Uint8Array.of(8, 0x08, 97, 98, 99, 0x15, 4))).toThrow(/back-reference/);
    expect(() => snappyUncompress(Uint8Array.of(3, 0x10, 97))).toThrow(/literal past the end/);
    expect(() => snappyUncompress(Uint8Array.of(0x80))).toThrow(/uncompressed length/);
  });
});

describe('LevelDB log records', () => {
  const mask = (crc: number): number => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
  function fragment(type: number, payload: Uint8Array): Buffer {
    const h = Buffer.alloc(7);
    h.writeUInt32LE(mask(crc32c(Buffer.concat([Buffer.from([type]), payload]))), 0);
    h.writeUInt16LE(payload.length, 4);
    h[6] = type;
    return Buffer.concat([h, payload]);
  }
  /** Writes records as LevelDB's log writer does: fragments at block ends, zero padding under 7 bytes. */
  function writeLog(records: Uint8Array[]): Buffer {
    const parts: Buffer[] = [];
    let pos = 0;
    for (const rec of records) {
      let off = 0;
      let first = true;
      do {
        const left = LOG_BLOCK - (pos % LOG_BLOCK);
        if (left < 7) { parts.push(Buffer.alloc(left)); pos += left; continue; }
        const n = Math.min(rec.length - off, left - 7);
        const end = off + n === rec.length;
        const type = first && end ? 1 : first ? 2 : end ? 4 : 3;
        parts.push(fragment(type, rec.subarray(off, off + n)));
        pos += 7 + n;
        off += n;
        first = false;
      } while (off < rec.length);
    }
    return Buffer.concat(parts);
  }
  /** Feeds the file a block at a time through one reused buffer, as readLiveTables does. */
  function readLog(file: Buffer, reader = new LogRecordReader('test')): Buffer[] {
    const out: Uint8Array[] = [];
    const buf = Buffer.alloc(LOG_BLOCK);
    for (let at = 0; ; at += LOG_BLOCK) {
      const n = file.copy(buf, 0, at, at + LOG_BLOCK);
      const last = n < LOG_BLOCK;
      out.push(...reader.block(buf.subarray(0, n), at, last));
      buf.fill(0xee); // what a reused buffer holds next
      if (last) return out.map((r) => Buffer.from(r));
    }
  }

  it('reassembles a record fragmented over three blocks and skips block padding', () => {
    const r = rng(1);
    const records = [randomBytes(r, 100), randomBytes(r, 2 * LOG_BLOCK + 500), randomBytes(r, LOG_BLOCK - 7 - 100 - 7 - 500 - 3), randomBytes(r, 10)];
    const got = readLog(writeLog(records));
    expect(got.map((b) => b.toString('hex'))).toEqual(records.map((b) => Buffer.from(b).toString('hex')));
  });

  it('a record cut off or half written at the end is one still being written: ignored', () => {
    const records = [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')];
    const file = writeLog(records);
    expect(readLog(file.subarray(0, file.length - 2)).map(String)).toEqual(['one', 'two']);
    const torn = Buffer.from(file);
    torn[torn.length - 1] ^= 0xff;
    expect(readLog(torn).map(String)).toEqual(['one', 'two']);
  });

  it('the live tables of a MANIFEST whose records span blocks (read through a reused buffer)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ldb-manifest-'));
    dirs.push(dir);
    const varint = (v: number): number[] => { const o: number[] = []; while (v >= 0x80) { o.push((v & 0x7f) | 0x80); v = Math.floor(v / 128); } o.push(v); return o; };
    const lp = (b: Uint8Array): number[] => [...varint(b.length), ...b];
    const ikey = (s: string): Uint8Array => Buffer.concat([Buffer.from(s), Buffer.from([1, 5, 0, 0, 0, 0, 0, 0])]);
    const newFile = (level: number, n: number): number[] => [7, ...varint(level), ...varint(n), ...varint(1000 + n), ...lp(ikey(`small${n}`)), ...lp(ikey(`large${n}`))];
    const deleted = (level: number, n: number): number[] => [6, ...varint(level), ...varint(n)];
    const name = Buffer.from('leveldb.BytewiseComparator');
    // One record of 2,000 files (~70 KiB: three blocks), then edits moving and deleting some.
    const first = [1, ...lp(name), 2, ...varint(3), 3, ...varint(9000), 4, ...varint(123456)];
    for (let n = 10; n < 2010; n++) first.push(...newFile(n % 3, n));
    const edits = [Uint8Array.from(first), Uint8Array.from([...deleted(0, 12), ...newFile(4, 12)]), Uint8Array.from([...deleted(1, 10), ...deleted(2, 11)])];
    await writeFile(join(dir, 'MANIFEST-000007'), writeLog(edits));
    await writeFile(join(dir, 'CURRENT'), 'MANIFEST-000007\n');
    const files = await readLiveTables(dir);
    expect(files.length).toBe(1998);
    const byNumber = new Map(files.map((f) => [f.number, f]));
    expect(byNumber.has(10)).toBe(false);
    expect(byNumber.has(11)).toBe(false);
    expect(byNumber.get(12)!.level).toBe(4);
    for (const n of [13, 1000, 2009]) {
      const f = byNumber.get(n)!;
      expect([f.level, f.size, Buffer.from(f.smallest).toString('latin1'), Buffer.from(f.largest).toString('latin1')])
        .toEqual([n % 3, 1000 + n, Buffer.from(ikey(`small${n}`)).toString('latin1'), Buffer.from(ikey(`large${n}`)).toString('latin1')]);
    }
  });

  it('a damaged record before the end is an error', () => {
    const file = writeLog([Buffer.from('one'), Buffer.from('two')]);
    file[8] ^= 0xff;
    expect(() => readLog(file)).toThrow(/checksum mismatch in test at 0/);
  });
});

describe('a frozen set of LevelDB tables', () => {
  it('scans exactly what LevelDB iterates, for any bounds and batch sizes', async () => {
    const { db } = await tmpDb();
    const r = rng(7);
    await churn(db, r, 60, 3000);
    const ts = await db.pinTables();
    open.push(ts);
    expect(ts.tableCount).toBeGreaterThan(2);
    expect(hex(await scanAll(ts, new Uint8Array(0), undefined))).toEqual(hex(await db.iterator().all()));
    for (let i = 0; i < 15; i++) {
      const a = (r() * 3200) | 0;
      const bnd = a + ((r() * 800) | 0);
      const want = await db.iterator({ gte: key(a), lt: key(bnd) }).all();
      expect(hex(await scanAll(ts, key(a), key(bnd), 1 + ((r() * 50) | 0), 1 + ((r() * 100_000) | 0)))).toEqual(hex(want));
    }
    // Bounds between stored keys (a key's extension, an empty range).
    const k5 = Buffer.concat([key(5), Buffer.from([0])]);
    expect(hex(await scanAll(ts, k5, key(9)))).toEqual(hex(await db.iterator({ gte: k5, lt: key(9) }).all()));
    expect(await scanAll(ts, key(9), key(9))).toEqual([]);
  });

  it('keeps serving its point in time after LevelDB overwrites everything and deletes those files', async () => {
    const { db, dir } = await tmpDb();
    const r = rng(11);
    await churn(db, r, 40, 2000);
    // The last writes are still in LevelDB's memtable: pinning writes them to a table first.
    await db.batch([{ type: 'put', key: key(1), value: Buffer.from('newest') }, { type: 'del', key: key(2) }]);
    const before = hex(await db.iterator().all());
    const ts = await db.pinTables();
    open.push(ts);
    const filesThen = (await readdir(dir)).filter((f) => f.endsWith('.ldb'));
    await churn(db, r, 40, 2000);
    await db.batch(Array.from({ length: 2000 }, (_, i): BatchOp => ({ type: 'del', key: key(i) })));
    await db.compactRange(new Uint8Array(0), Buffer.alloc(8, 0xff));
    const filesNow = new Set((await readdir(dir)).filter((f) => f.endsWith('.ldb')));
    expect(filesThen.filter((f) => !filesNow.has(f)).length).toBeGreaterThan(0);
    expect(await db.iterator().all()).toEqual([]);
    expect(hex(await scanAll(ts, new Uint8Array(0), undefined))).toEqual(before);
    expect(before).toContain(`${Buffer.from(key(1)).toString('hex')}=${Buffer.from('newest').toString('hex')}`);
    expect(before.some((e) => e.startsWith(`${Buffer.from(key(2)).toString('hex')}=`))).toBe(false);
  });

  it('reads the tables without mapping them, where LevelDB\'s iterator maps what it reads', async () => {
    const { db, dir } = await tmpDb();
    const r = rng(3);
    // 16 MiB of incompressible values.
    for (let i = 0; i < 16; i++) {
      await db.batch(Array.from({ length: 100 }, (_, j): BatchOp => ({ type: 'put', key: key(i * 100 + j), value: randomBytes(r, 10_000) })));
    }
    const ts = await db.pinTables();
    open.push(ts);
    const m0 = await mappedRss(dir);
    expect((await scanAll(ts, new Uint8Array(0), undefined)).length).toBe(1600);
    const m1 = await mappedRss(dir);
    await db.iterator().all();
    const m2 = await mappedRss(dir);
    // The control: LevelDB's own reads put what they read into this process's mappings …
    expect(m2 - m1).toBeGreaterThan(8 << 20);
    // … the direct read adds nothing there.
    expect(m1 - m0).toBeLessThan(256 << 10);
  });
});

describe('the store\'s point-in-time view on LevelDB', () => {
  const t = new TmpStores();
  afterEach(() => t.cleanup());

  it('holds what was applied before it, not what is applied after', async () => {
    const s = await t.open(await t.dir());
    for (let i = 1; i <= 50; i++) await s.put(pr(`key${i}`, 'x'.repeat(i * 100)), i);
    const view = await s.pointInTimeView();
    open.push(view);
    for (let i = 51; i <= 80; i++) await s.put(pr(`key${i}`, 'y'), i);
    await s.flush();
    expect(readU64((await view.get(META_CONSISTENT_INDEX))!)).toBe(50);
    let revisions = 0;
    for await (const batch of view.scan(REV_PREFIX, 7)) revisions += batch.length;
    expect(revisions).toBe(50);
    expect(await view.get(Buffer.from('nope'))).toBeUndefined();
  });
});
