// A delete and a put of one key in one revision (the v2 API's set over a file
// does it; the v3 API refuses such a Txn at validation, the store allows it as
// etcd's does): the put starts a new generation, so the key's create revision
// is that revision and its version 1, and every part of the store agrees —
// reads at each revision, watch events, compaction, hashes, restart.
import { afterEach, describe, expect, it } from 'vitest';
import { type MvccStore, type MvccWatchResponse, WatchHub } from '../../src/mvcc/index.js';
import { KeyIndex } from '../../src/mvcc/key-index.js';
import { parseRevKey } from '../../src/mvcc/revision.js';
import { dr, kvt, pr, rr, str, TmpStores } from './mvcc-helpers.js';

const t = new TmpStores();
const hubs: WatchHub[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) h.close();
  await t.cleanup();
});

/** Revisions physically present in LevelDB, as "main.sub[t]". */
async function stored(s: MvccStore): Promise<string[]> {
  const ks = await s.backend.db.keys({ gte: new Uint8Array([0x6b]), lt: new Uint8Array([0x6c]) }).all();
  return ks.map((k) => { const r = parseRevKey(k); return `${r.main}.${r.sub}${r.tombstone ? 't' : ''}`; });
}

/** k=1 (2), k=2 (3), other (4), then delete k and put k=new in one Txn (5). */
async function replaceInOneRevision(s: MvccStore): Promise<void> {
  await s.put(pr('k', '1'), 1);
  await s.put(pr('k', '2'), 2);
  await s.put(pr('other', 'x'), 3);
  const res = await s.txn({ compare: [], success: [{ deleteRange: dr('k') }, { put: pr('k', 'new') }], failure: [] }, 4);
  expect(res.succeeded).toBe(true);
  expect(res.revision).toBe(5);
}

const at = async (s: MvccStore, revision: number) => (await s.range(rr('k', '', { revision }))).kvs.map(kvt);

describe('delete then put of one key in one revision', () => {
  it('the put creates the key anew: create revision = that revision, version 1; older revisions read as before', async () => {
    const s = await t.open();
    await replaceInOneRevision(s);
    expect(await at(s, 5)).toEqual([['k', 'new', 5, 5, 1, 0n]]);
    expect(await at(s, 4)).toEqual([['k', '2', 2, 3, 2, 0n]]);
    expect(await at(s, 2)).toEqual([['k', '1', 2, 2, 1, 0n]]);
    expect((await s.range(rr('\0', '\0'))).count).toBe(2);
    expect((await s.range(rr('\0', '\0', { minCreateRevision: 5 }))).kvs.map((kv) => str(kv.key))).toEqual(['k']);
    // The next put continues the new generation.
    await s.put(pr('k', 'next'), 5);
    expect(await at(s, 6)).toEqual([['k', 'next', 5, 6, 2, 0n]]);
  });

  it('watchers get a DELETE then a PUT at that revision; the PUT is a creation (no prevKv), the DELETE has the old value', async () => {
    const s = await t.open();
    const hub = new WatchHub(s, { victimRetryMs: 2, syncIntervalMs: 5 });
    hubs.push(hub);
    const live: MvccWatchResponse[] = [];
    hub.watch({ id: 1n, range: { start: 'k', end: undefined }, startRev: 0, filters: { noPut: false, noDelete: false }, sink: { send: (r) => { live.push(r); return true; } } });
    await replaceInOneRevision(s);
    const last = live.at(-1)!;
    expect(last.events.map((e) => [e.type, e.kv.modRevision, e.kv.createRevision, e.kv.version])).toEqual([
      ['DELETE', 5, 0, 0], ['PUT', 5, 5, 1],
    ]);
    expect(await hub.prevKv(last.events[1]!)).toBeUndefined();
    expect(kvt((await hub.prevKv(last.events[0]!))!)).toEqual(['k', '2', 2, 3, 2, 0n]);
    // Replayed from history: the same two events in the same order.
    const replay: MvccWatchResponse[] = [];
    hub.watch({ id: 2n, range: { start: 'k', end: undefined }, startRev: 5, filters: { noPut: false, noDelete: false }, sink: { send: (r) => { replay.push(r); return true; } } });
    const deadline = Date.now() + 5000;
    while (replay.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(replay.flatMap((r) => r.events.map((e) => [e.type, e.kv.modRevision, e.kv.version]))).toEqual([['DELETE', 5, 0], ['PUT', 5, 1]]);
  });

  it('compaction at the revision keeps the delete and the new put; below it keeps the old value readable', async () => {
    const s = await t.open();
    await replaceInOneRevision(s);
    await (await s.compact(4, 10)).done;
    expect(await at(s, 4)).toEqual([['k', '2', 2, 3, 2, 0n]]);
    expect(await stored(s)).toEqual(['3.0', '4.0', '5.0t', '5.1']);
    // The tombstone at the compaction revision stays: a watch from 5 still sees the delete.
    await (await s.compact(5, 11)).done;
    expect(await stored(s)).toEqual(['4.0', '5.0t', '5.1']);
    expect(await at(s, 5)).toEqual([['k', 'new', 5, 5, 1, 0n]]);
    await s.put(pr('k', 'next'), 12);
    expect(await at(s, 6)).toEqual([['k', 'next', 5, 6, 2, 0n]]);
    await (await s.compact(6, 13)).done;
    expect(await stored(s)).toEqual(['4.0', '6.0']);
  });

  it('a restarted store rebuilds the same index (with and without compaction), and hashes agree with a store that never restarted', async () => {
    for (const compactAt of [0, 4, 5]) {
      const dir = await t.dir();
      const s = await t.open(dir);
      await replaceInOneRevision(s);
      if (compactAt) await (await s.compact(compactAt, 10)).done;
      const other = await t.open();
      await replaceInOneRevision(other);
      if (compactAt) await (await other.compact(compactAt, 10)).done;
      expect(await s.hashKV(5)).toEqual(await other.hashKV(5));
      await s.close();
      const r = await t.open(dir);
      expect(r.currentRevision()).toBe(5);
      expect(await at(r, 5)).toEqual([['k', 'new', 5, 5, 1, 0n]]);
      if (compactAt < 4) expect(await at(r, 3)).toEqual([['k', '2', 2, 3, 2, 0n]]);
      expect(await r.hashKV(5)).toEqual(await other.hashKV(5));
      await r.put(pr('k', 'next'), 20);
      await other.put(pr('k', 'next'), 20);
      expect(await at(r, 6)).toEqual([['k', 'next', 5, 6, 2, 0n]]);
      expect(await r.hashKV(6)).toEqual(await other.hashKV(6));
    }
  });

  it('the key index: a new generation at the same main revision; undo (a failed write) restores the old one', () => {
    const ki = new KeyIndex('k');
    ki.put(2, 0);
    ki.put(3, 0);
    ki.tombstone(5, 0);
    ki.put(5, 1);
    expect(ki.describe()).toEqual([['2.0', '3.0', '5.0'], ['5.1']]);
    expect(ki.get(5)).toEqual({ modMain: 5, modSub: 1, createMain: 5, version: 1 });
    expect(ki.get(4)).toEqual({ modMain: 3, modSub: 0, createMain: 2, version: 2 });
    ki.undo(5, 1, false);
    expect(ki.get(5)).toBeUndefined();
    ki.undo(5, 0, true);
    expect(ki.describe()).toEqual([['2.0', '3.0']]);
    expect(ki.get(5)).toEqual({ modMain: 3, modSub: 0, createMain: 2, version: 2 });
  });

  it('a Txn refused by its checks changes nothing; the same delete and put then commit', async () => {
    const s = await t.open();
    await s.put(pr('k', '1'), 1);
    const err = await s.txn({
      compare: [],
      success: [{ deleteRange: dr('k') }, { put: pr('k', 'new') }, { put: pr('x', 'v', { ignoreValue: true }) }],
      failure: [],
    }, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(s.currentRevision()).toBe(2);
    expect(await at(s, 2)).toEqual([['k', '1', 2, 2, 1, 0n]]);
    await s.txn({ compare: [], success: [{ deleteRange: dr('k') }, { put: pr('k', 'new') }], failure: [] }, 3);
    expect(await at(s, 3)).toEqual([['k', 'new', 3, 3, 1, 0n]]);
  });
});
