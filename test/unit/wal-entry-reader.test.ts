// The WAL's positions of the entries it wrote (wal/entry-reader.ts): every entry
// reads back exactly as written, across segment cuts and rewrites; released ones
// are forgotten; a record that is not what was written is an error, reported.

import { open, readdir, rm, mkdtemp, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryType, type Entry, type HardState } from '../../src/raft/types.js';
import { WAL } from '../../src/wal/index.js';
import { WalReadError } from '../../src/wal/entry-reader.js';

const META = new TextEncoder().encode('node=1 cluster=42');
const SEG = 4096;

function ent(index: number, term = 1, size = 100): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff || 1;
  return { index, term, type: EntryType.Normal, data, encoded: undefined };
}

const range = (from: number, to: number, term = 1): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => ent(from + i, term));
const hs = (term: number, commit: number): HardState => ({ term, vote: 1n, commit });
const plain = (es: Entry[]) => es.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Array.from(e.data) }));

let base: string;
let dir: string;
const opened: WAL[] = [];

async function create(): Promise<WAL> {
  const w = await WAL.create(dir, META, { segmentSizeBytes: SEG });
  opened.push(w);
  return w;
}

/** Saves [from, to], a few entries and a hard state per call, so segments get cut. */
async function fill(w: WAL, from: number, to: number, term = 1): Promise<void> {
  for (let i = from; i <= to; i += 4) await w.save(hs(term, i - 1), range(i, Math.min(i + 3, to), term));
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'etcd-ts-wal-reader-'));
  dir = join(base, 'wal');
});

afterEach(async () => {
  for (const w of opened.splice(0)) await w.close();
  await rm(base, { recursive: true, force: true });
});

describe("the WAL's entries read back", () => {
  it('every entry it wrote, across segment cuts, exactly as written', async () => {
    const w = await create();
    await fill(w, 1, 120);
    expect((await readdir(dir)).filter((n) => n.endsWith('.wal')).length).toBeGreaterThan(3);
    const r = w.coldEntries;
    expect(r.has(1, 120)).toBe(true);
    expect(r.has(1, 121)).toBe(false);
    expect(plain(r.read(1, 121))).toEqual(plain(range(1, 120)));
    expect(plain(r.read(57, 63))).toEqual(plain(range(57, 62)));
  });

  it('an entry written again (a conflicting suffix replaced) reads back as its last write', async () => {
    const w = await create();
    await fill(w, 1, 20);
    await w.save(hs(2, 5), range(11, 14, 2));
    const r = w.coldEntries;
    expect(plain(r.read(9, 15))).toEqual(plain([...range(9, 10, 1), ...range(11, 14, 2)]));
  });

  it('knows only what this process wrote: entries replayed at open stay unknown', async () => {
    const w = await create();
    await fill(w, 1, 10);
    await w.close();
    const again = await WAL.open(dir, undefined, { segmentSizeBytes: SEG });
    opened.push(again.wal);
    expect(again.entries.length).toBe(10);
    expect(again.wal.coldEntries.has(1, 10)).toBe(false);
    await fill(again.wal, 11, 14);
    expect(again.wal.coldEntries.has(11, 14)).toBe(true);
    expect(plain(again.wal.coldEntries.read(11, 15))).toEqual(plain(range(11, 14)));
  });

  it('forgets released entries, and reads a segment deleted meanwhile through the handle it keeps', async () => {
    const w = await create();
    await fill(w, 1, 120);
    const r = w.coldEntries;
    // The WAL's own release after a snapshot deletes old segments; here, all but the newest two go.
    const segs = (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
    for (const name of segs.slice(0, -2)) await unlink(join(dir, name));
    expect(plain(r.read(1, 4))).toEqual(plain(range(1, 3)));
    r.release(60);
    expect(r.has(60, 61)).toBe(false);
    expect(r.has(61, 120)).toBe(true);
    expect(() => r.read(60, 61)).toThrow(WalReadError);
    expect(plain(r.read(61, 121))).toEqual(plain(range(61, 120)));
  });

  it('a record that is not what was written is an error, reported before it is thrown', async () => {
    const w = await create();
    await fill(w, 1, 8);
    const r = w.coldEntries;
    const failures: Error[] = [];
    r.onFailure = (err) => failures.push(err);
    // Flip one byte of entry 5's data in the file (its data is unique to it).
    const [seg] = (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
    const fh = await open(join(dir, seg!), 'r+');
    const buf = Buffer.alloc(SEG);
    await fh.read(buf, 0, SEG, 0);
    const at = buf.indexOf(Buffer.from(ent(5).data));
    expect(at).toBeGreaterThan(0);
    await fh.write(Buffer.from([buf[at + 10]! ^ 0x40]), 0, 1, at + 10);
    await fh.close();
    expect(plain(r.read(4, 5))).toEqual(plain(range(4, 4)));
    expect(() => r.read(4, 7)).toThrow(/entry 5's record fails its CRC/);
    expect(failures.map((e) => e.name)).toEqual(['WalReadError']);
    expect(() => r.read(100, 101)).toThrow(/entry 100 is not in the WAL's positions/);
    expect(failures.length).toBe(2);
    // After the WAL closed (a member stopping), a read is refused without a failure.
    await w.close();
    expect(r.has(1, 4)).toBe(false);
    expect(() => r.read(1, 4)).toThrow(/the WAL is closed/);
    expect(failures.length).toBe(2);
  });
});
