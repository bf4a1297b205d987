import { describe, expect, it } from 'vitest';
import { KeyIndex } from '../../src/mvcc/key-index.js';
import { TreeIndex } from '../../src/mvcc/tree-index.js';
import { encodeKeyValue, decodeKeyValue } from '../../src/mvcc/kv-codec.js';
import { keyRange, toSkey, fromSkey } from '../../src/mvcc/keys.js';
import { revKey, parseRevKey, etcdRevBytes } from '../../src/mvcc/revision.js';
import { b, kvt } from './mvcc-helpers.js';

const gens = (ki: KeyIndex): string[][] => ki.describe();

// The history etcd's key_index_test.go uses.
function sample(): KeyIndex {
  const ki = new KeyIndex('foo');
  ki.put(2, 0); ki.put(4, 0); ki.tombstone(6, 0);
  ki.put(8, 0); ki.put(10, 0); ki.tombstone(12, 0);
  ki.put(14, 0); ki.put(14, 1); ki.put(16, 0);
  return ki;
}

describe('KeyIndex', () => {
  it('generations as in etcd', () => {
    const ki = new KeyIndex('k');
    ki.put(1, 0); ki.put(2, 0); expect(ki.tombstone(3, 0)).toBe(true); ki.put(4, 0); ki.tombstone(5, 0);
    expect(gens(ki)).toEqual([['1.0', '2.0', '3.0'], ['4.0', '5.0'], []]);
    expect(ki.tombstone(6, 0)).toBe(false);
    expect(() => ki.put(5, 0)).toThrow(/smaller revision/);
  });

  it('get at revisions', () => {
    const ki = sample();
    const at = (r: number): string | undefined => { const i = ki.get(r); return i && `${i.modMain}.${i.modSub} c${i.createMain} v${i.version}`; };
    expect(at(1)).toBeUndefined();
    expect(at(2)).toBe('2.0 c2 v1');
    expect(at(5)).toBe('4.0 c2 v2');
    expect(at(6)).toBeUndefined();
    expect(at(7)).toBeUndefined();
    expect(at(8)).toBe('8.0 c8 v1');
    expect(at(11)).toBe('10.0 c8 v2');
    expect(at(12)).toBeUndefined();
    expect(at(14)).toBe('14.1 c14 v2');
    expect(at(100)).toBe('16.0 c14 v3');
    expect(ki.existsAt(13)).toBe(false);
    expect(ki.existsAt(15)).toBe(true);
  });

  it.each([
    [1, [['2.0', '4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0']], []],
    [2, [['2.0', '4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0']], ['2.0']],
    [3, [['2.0', '4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0']], ['2.0']],
    [4, [['4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0']], ['4.0']],
    [5, [['4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0']], ['4.0']],
    // A delete at exactly the compaction revision keeps its tombstone (etcd-io/etcd#18089, as
    // fixed in etcd 3.4.34 / 3.5.16); keep() leaves it out, as etcd 3.4's HashKV does.
    [6, [['6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0']], [], ['6.0']],
    [7, [['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0']], []],
    [8, [['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0']], ['8.0']],
    [10, [['10.0', '12.0'], ['14.0', '14.1', '16.0']], ['10.0']],
    [12, [['12.0'], ['14.0', '14.1', '16.0']], [], ['12.0']],
    [13, [['14.0', '14.1', '16.0']], []],
    [14, [['14.1', '16.0']], ['14.1']],
    [15, [['14.1', '16.0']], ['14.1']],
    [16, [['16.0']], ['16.0']],
    [17, [['16.0']], ['16.0']],
  ] as [number, string[][], string[], string[]?][])('compact(%i) and keep agree with etcd', (rev, wantGens, wantKept, wantAvail = wantKept) => {
    const kept: string[] = [];
    sample().keep(rev, (m, s) => kept.push(`${m}.${s}`));
    expect(kept).toEqual(wantKept);
    const ki = sample();
    const avail: string[] = [];
    ki.compact(rev, (m, s) => avail.push(`${m}.${s}`));
    expect(gens(ki)).toEqual(wantGens);
    expect(avail).toEqual(wantAvail);
  });

  it('a tombstone at the compaction revision stays (not live, reads see nothing) until a later compaction; compacting at it again is idempotent', () => {
    const ki = new KeyIndex('k');
    ki.put(2, 0); ki.tombstone(3, 0);
    for (let i = 0; i < 2; i++) {
      const avail: string[] = [];
      ki.compact(3, (m, s) => avail.push(`${m}.${s}`));
      expect(avail).toEqual(['3.0']);
      expect(gens(ki)).toEqual([['3.0'], []]);
    }
    expect(ki.isEmpty()).toBe(false);
    expect(ki.isLive()).toBe(false);
    expect(ki.get(3)).toBeUndefined();
    expect(ki.get(100)).toBeUndefined();
    ki.put(5, 0);
    expect(ki.get(5)).toEqual({ modMain: 5, modSub: 0, createMain: 5, version: 1 });
    ki.compact(4, () => {});
    expect(gens(ki)).toEqual([['5.0']]);
    const gone = new KeyIndex('g');
    gone.put(2, 0); gone.tombstone(3, 0);
    gone.compact(3, () => {});
    gone.compact(4, () => {});
    expect(gone.isEmpty()).toBe(true);
  });

  it('restoreTombstone: a tombstone found alone at start-up is indexed as compaction leaves it', () => {
    const ki = new KeyIndex('k');
    ki.restoreTombstone(7, 1);
    expect(gens(ki)).toEqual([['7.1'], []]);
    expect(ki.isLive()).toBe(false);
    expect(ki.tombstone(8, 0)).toBe(false);
    const avail: string[] = [];
    ki.compact(7, (m, s) => avail.push(`${m}.${s}`));
    expect(avail).toEqual(['7.1']);
    ki.put(9, 0);
    expect(ki.get(9)?.version).toBe(1);
    ki.compact(9, () => {});
    expect(gens(ki)).toEqual([['9.0']]);
  });
});

describe('TreeIndex', () => {
  it('matches a sorted reference under random inserts and removals', () => {
    const t = new TreeIndex();
    const ref = new Set<string>();
    let seed = 12345;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    for (let i = 0; i < 20_000; i++) {
      const k = 'k' + rnd(5000).toString(36);
      if (rnd(4) === 0) { expect(t.remove(k)).toBe(ref.delete(k)); }
      else { t.getOrCreate(k); ref.add(k); }
    }
    const sorted = [...ref].sort();
    const all: string[] = [];
    t.visit('', null, (ki) => { all.push(ki.skey); });
    expect(all).toEqual(sorted);
    expect(t.size).toBe(ref.size);
    const part: string[] = [];
    t.visit('k2', 'k5', (ki) => { part.push(ki.skey); });
    expect(part).toEqual(sorted.filter((k) => k >= 'k2' && k < 'k5'));
    const first3: string[] = [];
    t.visit('k9', null, (ki) => { first3.push(ki.skey); return first3.length < 3; });
    expect(first3).toEqual(sorted.filter((k) => k >= 'k9').slice(0, 3));
  });

  it('orders keys bytewise, including bytes ≥ 0x80', () => {
    const t = new TreeIndex();
    const ks = [[0x61], [0xff], [0x80, 0x01], [0x61, 0x00], [0x7f]].map((a) => Uint8Array.from(a));
    for (const k of ks) t.getOrCreate(toSkey(k));
    const out: number[][] = [];
    t.visit(toSkey(Uint8Array.from([0])), null, (ki) => { out.push([...fromSkey(ki.skey)]); });
    expect(out).toEqual([[0x61], [0x61, 0x00], [0x7f], [0x80, 0x01], [0xff]]);
  });
});

describe('encoding', () => {
  it('KeyValue round-trips in mvccpb layout', () => {
    const kv = { key: b('key'), createRevision: 2 ** 40 + 3, modRevision: 300, version: 1, value: new Uint8Array(1000).fill(7), lease: -5n };
    const bytes = encodeKeyValue(kv);
    expect(kvt(decodeKeyValue(bytes))).toEqual(kvt(kv));
    expect([...encodeKeyValue({ key: b('a'), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n })]).toEqual([0x0a, 1, 0x61]);
    expect([...encodeKeyValue({ key: b('a'), createRevision: 150, modRevision: 1, version: 1, value: b('v'), lease: 1n })])
      .toEqual([0x0a, 1, 0x61, 0x10, 0x96, 0x01, 0x18, 1, 0x20, 1, 0x2a, 1, 0x76, 0x30, 1]);
  });

  it('revision keys sort by revision and round-trip', () => {
    const a = revKey(2 ** 33 + 1, 5), c = revKey(2 ** 33 + 1, 6, true), d = revKey(2 ** 34, 0);
    expect(Buffer.compare(a, c)).toBe(-1);
    expect(Buffer.compare(c, d)).toBe(-1);
    expect(parseRevKey(c)).toEqual({ main: 2 ** 33 + 1, sub: 6, tombstone: true });
    expect([...etcdRevBytes(1, 2, true)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0x5f, 0, 0, 0, 0, 0, 0, 0, 2, 0x74]);
  });

  it('key range forms', () => {
    expect(keyRange(b('a'), new Uint8Array(0))).toEqual({ start: 'a', end: null, single: true });
    expect(keyRange(b('a'), Uint8Array.from([0]))).toEqual({ start: 'a', end: null, single: false });
    expect(keyRange(b('a'), b('b'))).toEqual({ start: 'a', end: 'b', single: false });
  });
});
