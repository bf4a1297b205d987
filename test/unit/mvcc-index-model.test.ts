// The key index (TreeIndex of KeyIndex, compact and full shapes) against a plain
// reference model that keeps every event: random puts, deletes, multi-op
// revisions, rollbacks, compactions and restarts (rebuilding the index from
// what the backend would hold, as MvccStore.restore does), checked by point
// lookups, range visits and the compaction keep-set at many revisions.

import { describe, expect, it } from 'vitest';
import type { KeyRevInfo } from '../../src/mvcc/key-index.js';
import { TreeIndex } from '../../src/mvcc/tree-index.js';

interface Ev { main: number; sub: number; tomb: boolean }

class Model {
  readonly events = new Map<string, Ev[]>();
  compactRev = 0;

  add(key: string, ev: Ev): void {
    let l = this.events.get(key);
    if (!l) this.events.set(key, (l = []));
    l.push(ev);
  }

  isLive(key: string): boolean {
    const l = this.events.get(key);
    return !!l && l.length > 0 && !l[l.length - 1]!.tomb;
  }

  /** What etcd answers for key at atRev (atRev ≥ compactRev). */
  get(key: string, atRev: number): KeyRevInfo | undefined {
    const l = this.events.get(key) ?? [];
    let idx = -1;
    for (let i = 0; i < l.length; i++) if (l[i]!.main <= atRev) idx = i;
    if (idx < 0 || l[idx]!.tomb) return undefined;
    let start = idx;
    while (start > 0 && !l[start - 1]!.tomb) start--;
    return { modMain: l[idx]!.main, modSub: l[idx]!.sub, createMain: l[start]!.main, version: idx - start + 1 };
  }

  keys(): string[] { return [...this.events.keys()].sort(); }
}

function rng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => { s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff; return s % n; };
}

const infoAt = (t: TreeIndex, key: string, rev: number): KeyRevInfo | undefined => t.get(key)?.get(rev);

function keptBy(t: TreeIndex, rev: number, compact: boolean): string[] {
  const out: string[] = [];
  const sink = (m: number, s: number): void => { out.push(`${m}.${s}`); };
  if (compact) {
    t.forEach((ki) => { ki.compact(rev, sink); if (ki.isEmpty()) t.remove(ki.skey); });
  } else {
    t.forEach((ki) => ki.keep(rev, sink));
  }
  return out.sort();
}

/** What compaction at rev keeps at or below it: each live key's revision, and (compact only) deletes at exactly rev. */
function modelKept(m: Model, rev: number, compact: boolean): string[] {
  const out: string[] = [];
  for (const k of m.keys()) {
    const i = m.get(k, rev);
    if (i) out.push(`${i.modMain}.${i.modSub}`);
    if (compact) for (const ev of m.events.get(k)!) if (ev.tomb && ev.main === rev) out.push(`${ev.main}.${ev.sub}`);
  }
  return out.sort();
}

const deletedAt = (m: Model, k: string, rev: number): boolean => m.events.get(k)!.some((e) => e.tomb && e.main === rev);

// Rebuilds an index from the records a compacted backend holds, in revision order.
function restart(m: Model, restoreRecords: { key: string; ev: Ev; info?: KeyRevInfo }[]): TreeIndex {
  const t = new TreeIndex();
  restoreRecords.sort((a, b) => a.ev.main - b.ev.main || a.ev.sub - b.ev.sub);
  for (const { key, ev, info } of restoreRecords) {
    const ki = t.get(key);
    if (ki) { if (ev.tomb) ki.tombstone(ev.main, ev.sub); else ki.put(ev.main, ev.sub); }
    else if (!ev.tomb) t.getOrCreate(key).restore(info!.createMain, ev.main, ev.sub, info!.version);
    else t.getOrCreate(key).restoreTombstone(ev.main, ev.sub);
  }
  void m;
  return t;
}

function check(t: TreeIndex, m: Model, cur: number, r: (n: number) => number): void {
  const keys = m.keys();
  const revs = [m.compactRev, cur, ...Array.from({ length: 6 }, () => m.compactRev + r(cur - m.compactRev + 1))];
  for (const rev of revs) {
    for (const k of keys) {
      expect(infoAt(t, k, rev), `${k}@${rev}`).toEqual(m.get(k, rev));
      expect(t.get(k)?.existsAt(rev) ?? false).toBe(m.get(k, rev) !== undefined);
    }
    const lo = keys[r(keys.length)] ?? '', hi = r(3) === 0 ? null : keys[r(keys.length)] ?? null;
    const got: string[] = [];
    t.visit(lo, hi, (ki) => { if (ki.get(rev)) got.push(ki.skey); });
    expect(got).toEqual(keys.filter((k) => k >= lo && (hi === null || k < hi) && m.get(k, rev)));
  }
  for (const k of keys) expect(t.get(k)?.isLive() ?? false, k).toBe(m.isLive(k));
}

describe('key index against a reference model', () => {
  it.each([1, 2, 3, 4, 5, 6])('random history, seed %i', (seed) => {
    const r = rng(seed);
    const m = new Model();
    let t = new TreeIndex();
    let cur = 1;
    const keyName = (i: number): string => 'k' + String.fromCharCode(0x30 + (i % 40), 0x80 + (i % 7)) + (i % 3 ? 'x' : '');
    for (let step = 0; step < 1500; step++) {
      const op = r(100);
      if (op < 80) {
        // One revision of 1–3 changes on distinct keys; sometimes rolled back.
        const main = cur + 1;
        const ks = new Set<string>();
        const n = 1 + r(3);
        while (ks.size < n) ks.add(keyName(r(60)));
        const applied: { key: string; ev: Ev; created: boolean }[] = [];
        for (const key of ks) {
          const sub = applied.length;
          if (r(4) === 0) {
            const ki = t.get(key);
            if (!ki || !ki.tombstone(main, sub)) continue;
            applied.push({ key, ev: { main, sub, tomb: true }, created: false });
          } else {
            const created = t.get(key) === undefined;
            t.getOrCreate(key).put(main, sub);
            applied.push({ key, ev: { main, sub, tomb: false }, created });
          }
        }
        if (applied.length === 0) continue;
        if (r(10) === 0) {
          for (let i = applied.length - 1; i >= 0; i--) {
            const a = applied[i]!;
            const ki = t.get(a.key)!;
            ki.undo(a.ev.main, a.ev.sub, a.ev.tomb);
            if (ki.isEmpty()) t.remove(a.key);
          }
        } else {
          for (const a of applied) m.add(a.key, a.ev);
          cur = main;
        }
      } else if (op < 93) {
        const rev = m.compactRev + r(cur - m.compactRev + 1);
        expect(keptBy(t, rev, false)).toEqual(modelKept(m, rev, false));
        expect(keptBy(t, rev, true)).toEqual(modelKept(m, rev, true));
        m.compactRev = rev;
        // Keys neither live at rev, deleted at rev, nor changed after it are gone from the index.
        for (const k of m.keys()) {
          const later = m.events.get(k)!.some((e) => e.main > rev);
          expect(t.get(k) !== undefined, k).toBe(later || m.get(k, rev) !== undefined || deletedAt(m, k, rev));
        }
      } else {
        // Restart: the backend holds each key's revision kept at compactRev and everything after.
        const recs: { key: string; ev: Ev; info?: KeyRevInfo }[] = [];
        for (const k of m.keys()) {
          for (const ev of m.events.get(k)!) {
            const keptAt = m.get(k, m.compactRev);
            const kept = (keptAt !== undefined && keptAt.modMain === ev.main && keptAt.modSub === ev.sub) || (ev.tomb && ev.main === m.compactRev);
            if (ev.main > m.compactRev || kept) recs.push({ key: k, ev, info: ev.tomb ? undefined : m.get(k, ev.main) });
          }
        }
        t = restart(m, recs);
      }
      if (step % 25 === 0) check(t, m, cur, r);
    }
    check(t, m, cur, r);
  });

  it('a key written once stays in the compact shape; a second revision moves it to the full one and compaction back', () => {
    const t = new TreeIndex();
    const ki = t.getOrCreate('a');
    ki.put(2, 0);
    expect(ki.describe()).toEqual([['2.0']]);
    ki.put(3, 0);
    ki.tombstone(4, 0);
    ki.put(5, 0);
    expect(ki.describe()).toEqual([['2.0', '3.0', '4.0'], ['5.0']]);
    ki.compact(5, () => {});
    expect(ki.describe()).toEqual([['5.0']]);
    expect(ki.get(5)).toEqual({ modMain: 5, modSub: 0, createMain: 5, version: 1 });
    ki.tombstone(6, 0);
    ki.compact(6, () => {}); // the tombstone at the compaction revision stays
    expect(ki.describe()).toEqual([['6.0'], []]);
    ki.compact(7, () => {});
    expect(ki.isEmpty()).toBe(true);
  });

  it('ascending inserts fill chunks; lookups, removals and visits stay exact across chunk boundaries', () => {
    const t = new TreeIndex();
    const keys = Array.from({ length: 5000 }, (_, i) => 'key' + String(i).padStart(6, '0'));
    for (const k of keys) t.getOrCreate(k).put(2, 0);
    expect(t.size).toBe(5000);
    for (const k of keys) expect(t.get(k)?.skey).toBe(k);
    expect(t.get('key')).toBeUndefined();
    expect(t.get('key9')).toBeUndefined();
    for (let i = 0; i < keys.length; i += 3) expect(t.remove(keys[i]!)).toBe(true);
    expect(t.remove(keys[0]!)).toBe(false);
    const left = keys.filter((_, i) => i % 3 !== 0);
    const got: string[] = [];
    t.visit('', null, (ki) => { got.push(ki.skey); });
    expect(got).toEqual(left);
    expect(t.size).toBe(left.length);
  });
});
