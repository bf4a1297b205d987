// MemoryStorage packs its older entries (packed-run.ts). Whatever the packing,
// it must answer exactly as a log held as plain objects: checked here against a
// reference model over random appends (with conflicting suffixes reaching into
// packed runs), compactions, snapshots and reads, at several packing thresholds.

import { describe, expect, it } from 'vitest';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable, EntryType, MemoryStorage, type Entry } from '../../src/raft/index.js';
import { PackedRun } from '../../src/raft/packed-run.js';
import type { ColdEntries } from '../../src/raft/cold-run.js';
import { encodeEntry } from '../../src/raft/codec.js';
import { entrySize } from '../../src/raft/util.js';

const ent = (index: number, term: number, data: string, type = EntryType.Normal): Entry => ({
  index,
  term,
  type,
  data: new TextEncoder().encode(data),
  encoded: undefined,
});

/** A durable log that can give entries back (as the WAL's positions do: wal/entry-reader.ts), in memory. */
class FakeDurableLog implements ColdEntries {
  private readonly written = new Map<number, Entry>();
  private released = 0;
  reads = 0;

  write(es: Entry[]): void {
    for (const e of es) this.written.set(e.index, { index: e.index, term: e.term, type: e.type, data: e.data.slice(), encoded: undefined });
  }

  has(first: number, last: number): boolean {
    if (first <= this.released) return false;
    for (let i = first; i <= last; i++) if (!this.written.has(i)) return false;
    return true;
  }

  read(lo: number, hi: number): Entry[] {
    this.reads++;
    return Array.from({ length: hi - lo }, (_, k) => {
      const e = this.written.get(lo + k);
      if (e === undefined || lo + k <= this.released) throw new Error(`entry ${lo + k} is not in the durable log`);
      return { ...e, data: e.data.slice() };
    });
  }

  release(index: number): void {
    this.released = Math.max(this.released, index);
    for (const i of [...this.written.keys()]) if (i <= index) this.written.delete(i);
  }
}

/** The log as plain objects, the obvious way: the answers MemoryStorage must give. */
class ReferenceLog {
  offset = 0;
  offsetTerm = 0;
  ents: Entry[] = []; // ents[k] is entry offset + 1 + k

  last(): number {
    return this.offset + this.ents.length;
  }

  term(i: number): number {
    if (i < this.offset) throw new ErrCompacted();
    if (i > this.last()) throw new ErrUnavailable();
    return i === this.offset ? this.offsetTerm : this.ents[i - this.offset - 1]!.term;
  }

  entries(lo: number, hi: number, maxSize?: number): Entry[] {
    if (lo <= this.offset) throw new ErrCompacted();
    if (hi > this.last() + 1) throw new ErrUnavailable(`entries' hi(${hi}) is out of bound lastindex(${this.last()})`);
    if (this.ents.length === 0) throw new ErrUnavailable();
    const all = this.ents.slice(lo - this.offset - 1, hi - this.offset - 1);
    if (maxSize === undefined) return all;
    let size = 0;
    const out: Entry[] = [];
    for (const e of all) {
      size += entrySize(e);
      if (out.length > 0 && size > maxSize) break;
      out.push(e);
    }
    return out;
  }

  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const kept = entries.filter((e) => e.index > this.offset);
    if (kept.length === 0) return;
    const at = kept[0]!.index;
    if (at > this.last() + 1) throw new Error(`missing log entry [last: ${this.last()}, append at: ${at}]`);
    this.ents = [...this.ents.slice(0, at - this.offset - 1), ...kept];
  }

  compact(i: number): void {
    if (i <= this.offset) throw new ErrCompacted();
    if (i > this.last()) throw new Error(`compact ${i} is out of bound lastindex(${this.last()})`);
    const t = this.term(i);
    this.ents = this.ents.slice(i - this.offset);
    this.offset = i;
    this.offsetTerm = t;
  }

  reset(index: number, term: number): void {
    this.offset = index;
    this.offsetTerm = term;
    this.ents = [];
  }
}

/** An answer or the error it threw, in a form toEqual compares. */
function outcome<T>(f: () => T): { ok: T } | { err: string } {
  try {
    return { ok: f() };
  } catch (e) {
    return { err: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

const plain = (es: Entry[]) => es.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Array.from(e.data) }));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('MemoryStorage with packed entries', () => {
  it('packs the older entries once twice the hot count is there, and reads them back as they were', () => {
    const s = new MemoryStorage({ hotEntries: 4 });
    const es = Array.from({ length: 7 }, (_, k) => ent(k + 1, 1 + (k >> 1), `v${k}`, k === 3 ? EntryType.ConfChange : EntryType.Normal));
    s.append(es);
    expect(s.layout()).toMatchObject({ packed: 0, hot: 7 });
    s.append([ent(8, 4, 'v7')]);
    expect(s.layout()).toMatchObject({ packed: 4, hot: 4 });
    expect(plain(s.entries(1, 9))).toEqual(plain([...es, ent(8, 4, 'v7')]));
    expect([1, 2, 3, 4, 5].map((i) => s.term(i))).toEqual([1, 1, 2, 2, 3]);
    // A decoded entry carries its encoding, so a follower's append reuses it.
    const again = s.entries(2, 3)[0]!;
    expect(again.encoded).toBeDefined();
    expect(Array.from(encodeEntry(again))).toEqual(Array.from(encodeEntry(ent(2, 1, 'v1'))));
  });

  it('packs a long append (a restart replaying its WAL) into runs of at most the hot count', () => {
    const s = new MemoryStorage({ hotEntries: 4 });
    s.append(Array.from({ length: 23 }, (_, k) => ent(k + 1, 1, `r${k}`)));
    expect(s.layout()).toMatchObject({ packed: 19, hot: 4 });
    const before = s.layout().packedBytes;
    s.compact(4); // the first run (1..4) goes whole
    expect(s.layout().packedBytes).toBeLessThan(before);
    expect(s.entries(5, 24).map((e) => e.index)).toEqual(Array.from({ length: 19 }, (_, k) => k + 5));
  });

  it('truncates a packed run when a conflicting suffix starts inside it', () => {
    const s = new MemoryStorage({ hotEntries: 2 });
    s.append(Array.from({ length: 9 }, (_, k) => ent(k + 1, 1, `a${k}`)));
    expect(s.layout().packed).toBeGreaterThan(3);
    s.append([ent(3, 2, 'b3'), ent(4, 2, 'b4')]);
    expect(s.lastIndex()).toBe(4);
    expect(plain(s.entries(1, 5))).toEqual(plain([ent(1, 1, 'a0'), ent(2, 1, 'a1'), ent(3, 2, 'b3'), ent(4, 2, 'b4')]));
    expect(() => s.term(5)).toThrow(ErrUnavailable);
  });

  it('compaction drops whole runs; the offset keeps its term', () => {
    const s = new MemoryStorage({ hotEntries: 2 });
    s.append(Array.from({ length: 12 }, (_, k) => ent(k + 1, k + 1, `c${k}`)));
    s.compact(5);
    expect(s.firstIndex()).toBe(6);
    expect(s.term(5)).toBe(5);
    expect(() => s.term(4)).toThrow(ErrCompacted);
    expect(() => s.entries(5, 7)).toThrow(ErrCompacted);
    expect(s.entries(6, 13).map((e) => e.index)).toEqual([6, 7, 8, 9, 10, 11, 12]);
    s.compact(12);
    expect(s.layout()).toMatchObject({ packed: 0, hot: 0 });
    expect(() => s.entries(13, 13)).toThrow(ErrUnavailable);
    expect(s.createSnapshot(12, undefined, new Uint8Array()).metadata.term).toBe(12);
    expect(() => s.createSnapshot(12, undefined, new Uint8Array())).toThrow(ErrSnapOutOfDate);
  });

  it('stops decoding packed entries at maxSize (the first entry always comes)', () => {
    const s = new MemoryStorage({ hotEntries: 2 });
    s.append(Array.from({ length: 10 }, (_, k) => ent(k + 1, 1, 'x'.repeat(10))));
    expect(s.entries(1, 11, 0).length).toBe(1);
    expect(s.entries(1, 11, 2 * 26).length).toBe(2);
    expect(s.entries(1, 11, 2 * 26 - 1).length).toBe(1);
  });

  for (const [hotEntries, withCold] of [[1, false], [2, false], [3, false], [8, false], [1, true], [3, true], [8, true]] as const) {
    it(`answers as a plain log over random operations (hotEntries ${hotEntries}${withCold ? ', old runs read back from a durable log' : ''})`, () => {
      let sawCold = 0;
      let coldReads = 0;
      for (let seed = 1; seed <= 40; seed++) {
        const r = rng(seed * 7919 + hotEntries);
        const cold = withCold ? new FakeDurableLog() : undefined;
        const s = new MemoryStorage({ hotEntries, cold });
        const ref = new ReferenceLog();
        let term = 1;
        let snapIndex = 0;
        for (let step = 0; step < 300; step++) {
          const op = r();
          const last = ref.last();
          const pick = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
          if (op < 0.45) {
            // An append from somewhere between just past the offset (and before it) and just past the end.
            if (r() < 0.2) term++;
            const at = pick(Math.max(1, ref.offset - 2), last + (r() < 0.1 ? 2 : 1));
            const es = Array.from({ length: pick(0, 6) }, (_, k) => ent(at + k, term, `s${seed}-${step}-${k}`));
            // As the driver: entries reach the durable log before the storage, and only valid appends are made.
            const expected = outcome(() => ref.append(es));
            if ('ok' in expected) cold?.write(es);
            expect(outcome(() => s.append(es)), `seed ${seed} step ${step} append`).toEqual(expected);
          } else if (op < 0.55) {
            const i = pick(ref.offset - 1, last + 1);
            expect(outcome(() => s.compact(i)), `seed ${seed} step ${step} compact ${i}`).toEqual(outcome(() => ref.compact(i)));
          } else if (op < 0.58) {
            const i = pick(Math.max(snapIndex, ref.offset), last + 2);
            const got = outcome(() => s.createSnapshot(i, undefined, new Uint8Array()).metadata);
            if ('ok' in got) {
              expect(got.ok.term, `seed ${seed} step ${step} snapshot ${i}`).toBe(ref.term(i));
              snapIndex = i;
            } else if (i > snapIndex && i <= last && i >= ref.offset) {
              throw new Error(`seed ${seed} step ${step}: createSnapshot(${i}) failed: ${got.err}`);
            }
          } else if (op < 0.6) {
            const index = last + pick(0, 5);
            if (index > snapIndex) {
              s.applySnapshot({ metadata: { index, term, confState: undefined }, data: new Uint8Array() } as never);
              ref.reset(index, term);
              snapIndex = index;
            }
          } else if (op < 0.8) {
            const lo = pick(ref.offset - 1, last + 1);
            const hi = pick(lo, last + 2);
            const maxSize = r() < 0.5 ? undefined : pick(0, 200);
            const a = outcome(() => plain(s.entries(lo, hi, maxSize)));
            expect(a, `seed ${seed} step ${step} entries(${lo}, ${hi}, ${maxSize})`).toEqual(outcome(() => plain(ref.entries(lo, hi, maxSize))));
          } else {
            const i = pick(ref.offset - 2, last + 2);
            expect(outcome(() => s.term(i)), `seed ${seed} step ${step} term(${i})`).toEqual(outcome(() => ref.term(i)));
          }
          expect([s.firstIndex(), s.lastIndex()]).toEqual([ref.offset + 1, ref.last()]);
          const { packed, hot } = s.layout();
          expect(packed + hot).toBe(ref.ents.length);
          expect(hot).toBeLessThan(2 * hotEntries + 6);
          sawCold = Math.max(sawCold, s.layout().cold);
        }
        coldReads += cold?.reads ?? 0;
      }
      if (withCold) {
        expect(sawCold).toBeGreaterThan(0);
        expect(coldReads).toBeGreaterThan(0);
      }
    });
  }
});

describe('PackedRun', () => {
  it('refuses entries that are not consecutive, and indexes outside the run', () => {
    expect(() => PackedRun.pack([])).toThrow(/no entries/);
    expect(() => PackedRun.pack([ent(1, 1, 'a'), ent(3, 1, 'b')])).toThrow(/position 1/);
    const run = PackedRun.pack([ent(5, 2, 'a'), ent(6, 3, 'bb'), ent(7, 3, '')]);
    expect([run.first, run.last, run.term(6)]).toEqual([5, 7, 3]);
    expect(plain([run.entry(7)])).toEqual(plain([ent(7, 3, '')]));
    expect(() => run.term(8)).toThrow(/not in the packed run 5..7/);
    const cut = run.truncatedTo(5);
    expect([cut.first, cut.last]).toEqual([5, 5]);
    expect(() => cut.entry(6)).toThrow(/not in the packed run 5..5/);
  });
});
