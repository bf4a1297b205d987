// The key tree's paging over a keyspace it never loads whole: a fake Range
// (sorted keys, limit, "more") stands in for the server; every child of a
// prefix must appear exactly once, in order, and a directory of many keys must
// cost one page, not one per `limit` keys.

import { describe, expect, it } from 'vitest';
import { groupPage, mergeChildren, childLabel, type TreeChild } from '../../../ui/src/lib/tree.js';

/** Range [from, end-of-prefix) with a limit over sorted keys, as the server answers it. */
function fakeRange(all: string[], prefix: string, from: Uint8Array | undefined, limit: number): { keys: string[]; more: boolean } {
  const start = from ? Buffer.from(from).toString('utf8') : prefix;
  const inRange = all.filter((k) => k.startsWith(prefix) && Buffer.compare(Buffer.from(k), Buffer.from(start)) >= 0);
  return { keys: inRange.slice(0, limit), more: inRange.length > limit };
}

function listAll(all: string[], prefix: string, limit: number): { children: TreeChild[]; pages: number } {
  let children: TreeChild[] = [];
  let next: Uint8Array | undefined;
  let pages = 0;
  do {
    const r = fakeRange(all, prefix, next, limit);
    const page = groupPage(prefix, r.keys, r.more);
    children = mergeChildren(children, page.children);
    next = page.next;
    pages++;
    if (pages > 10_000) throw new Error('paging does not end');
  } while (next);
  return { children, pages };
}

describe('key tree paging', () => {
  const keys = [
    '/a/1', '/a/2', '/a/b/1', '/app/config', '/app/y', '/b', '/c/x/y/z', 'foo', 'foo/bar',
    ...Array.from({ length: 5000 }, (_, i) => `/big/${String(i).padStart(5, '0')}`),
  ].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

  it('groups a page into keys and prefixes right below the parent', () => {
    const page = groupPage('/', ['/a/1', '/a/2', '/b', '/c/x/y/z'], false);
    expect(page.children).toEqual([
      { kind: 'prefix', key: '/a/' },
      { kind: 'key', key: '/b' },
      { kind: 'prefix', key: '/c/' },
    ]);
    expect(page.next).toBeUndefined();
    expect(childLabel('/', { kind: 'prefix', key: '/a/' })).toBe('a/');
    expect(childLabel('/a/', { kind: 'key', key: '/a/' })).toBe('(this key)');
  });

  it('starts the next page after the last child, past a whole directory', () => {
    const dir = groupPage('', ['/a/1', '/a/2'], true);
    expect(Buffer.from(dir.next!).toString()).toBe('0'); // prefixEnd("/")
    const key = groupPage('/a/', ['/a/1'], true);
    expect([...key.next!]).toEqual([...Buffer.from('/a/1'), 0]);
  });

  for (const limit of [1, 2, 3, 100]) {
    it(`lists every child once, in order, with limit ${limit}`, () => {
      const root = listAll(keys, '', limit);
      expect(root.children).toEqual([{ kind: 'prefix', key: '/' }, { kind: 'key', key: 'foo' }, { kind: 'prefix', key: 'foo/' }]);
      const slash = listAll(keys, '/', limit);
      expect(slash.children.map((c) => c.key)).toEqual(['/a/', '/app/', '/b', '/big/', '/c/']);
      // The 5000-key directory is skipped in one step: every page brings a new child,
      // so the pages grow with the children (5 here), not with the keys.
      expect(slash.pages).toBeLessThanOrEqual(5 + 1);
      const a = listAll(keys, '/a/', limit);
      expect(a.children).toEqual([{ kind: 'key', key: '/a/1' }, { kind: 'key', key: '/a/2' }, { kind: 'prefix', key: '/a/b/' }]);
    });
  }

  it('pages through a directory of many keys', () => {
    const big = listAll(keys, '/big/', 100);
    expect(big.children).toHaveLength(5000);
    expect(big.pages).toBe(50);
    expect(new Set(big.children.map((c) => c.key)).size).toBe(5000);
  });

  it('keeps non-ASCII keys in byte order across pages', () => {
    const uni = ['/u/é', '/u/z', '/u/日本'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(listAll(uni, '/u/', 1).children.map((c) => c.key)).toEqual(uni);
  });
});
