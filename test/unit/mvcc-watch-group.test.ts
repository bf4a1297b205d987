import { describe, expect, it } from 'vitest';
import { Watcher, type WatchRange } from '../../src/mvcc/watcher.js';
import { WatcherGroup } from '../../src/mvcc/watcher-group.js';

const sink = { send: () => true };
const noFilters = { noPut: false, noDelete: false };
let nextId = 0n;
const w = (start: string, end?: string | null): Watcher => new Watcher(nextId++, { start, end } as WatchRange, 0, noFilters, sink);

function matching(g: WatcherGroup, key: string): Watcher[] {
  const out: Watcher[] = [];
  g.forEachMatching(key, (x) => out.push(x));
  return out;
}

describe('WatcherGroup: who watches a key', () => {
  it('single key, range [a, c), from-key (end null), and the "\\0" everything form', () => {
    const g = new WatcherGroup();
    const single = w('b');
    const range = w('a', 'c');
    const fromKey = w('b', null);
    const everything = w('\0', null);
    for (const x of [single, range, fromKey, everything]) g.add(x);

    expect(new Set(matching(g, 'b'))).toEqual(new Set([single, range, fromKey, everything]));
    expect(new Set(matching(g, 'a'))).toEqual(new Set([range, everything]));
    expect(new Set(matching(g, 'bb'))).toEqual(new Set([range, fromKey, everything]));
    // range end is exclusive; from-key is unbounded
    expect(new Set(matching(g, 'c'))).toEqual(new Set([fromKey, everything]));
    expect(new Set(matching(g, 'zzz'))).toEqual(new Set([fromKey, everything]));
    expect(g.contains('a')).toBe(true);
    expect(g.size).toBe(4);

    g.delete(everything);
    expect(matching(g, 'a')).toEqual([range]);
    expect(g.contains('0')).toBe(false);
    expect(matching(g, '0')).toEqual([]);
  });

  it('many watchers on one prefix are one interval; each watcher matched exactly once', () => {
    const g = new WatcherGroup();
    const many = Array.from({ length: 1000 }, () => w('p/', 'p0'));
    for (const x of many) g.add(x);
    const other = w('p/a', 'p/b');
    g.add(other);
    const hits = matching(g, 'p/a1');
    expect(hits).toHaveLength(1001);
    expect(new Set(hits).size).toBe(1001);
    expect(matching(g, 'p/c')).toHaveLength(1000);
    expect(matching(g, 'p0')).toHaveLength(0);

    for (const x of many.slice(0, 999)) g.delete(x);
    expect(matching(g, 'p/c')).toEqual([many[999]]);
    g.delete(many[999]!);
    expect(matching(g, 'p/c')).toEqual([]);
    expect(matching(g, 'p/a')).toEqual([other]);
    // deleting twice is harmless and reported
    expect(g.delete(many[0]!)).toBe(false);
  });

  it('bytes above 0x7f compare as bytes (latin1 keys)', () => {
    const g = new WatcherGroup();
    const hi = w('\x80', '\xff');
    g.add(hi);
    expect(matching(g, '\x7f')).toEqual([]);
    expect(matching(g, '\x80\x00')).toEqual([hi]);
    expect(matching(g, '\xfe\xff')).toEqual([hi]);
    expect(matching(g, '\xff')).toEqual([]);
  });
});
