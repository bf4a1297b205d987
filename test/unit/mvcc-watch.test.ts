import { afterEach, describe, expect, it } from 'vitest';
import { WatchHub, WatchStream, type MvccStore, type MvccWatchResponse, type WatchSink } from '../../src/mvcc/index.js';
import { prevKvOf } from '../../src/mvcc/event-reader.js';
import type { Watcher } from '../../src/mvcc/watcher.js';
import { b, dr, kvt, pr, str, TmpStores } from './mvcc-helpers.js';

class TestSink implements WatchSink {
  responses: MvccWatchResponse[] = [];
  full = false;
  refused = 0;
  send(r: MvccWatchResponse): boolean {
    if (this.full) {
      this.refused++;
      return false;
    }
    this.responses.push(r);
    return true;
  }
  /** [revision, type, key] of every event received, in order. */
  events(id?: bigint): [number, string, string][] {
    return this.responses
      .filter((r) => id === undefined || r.watchId === id)
      .flatMap((r) => r.events.map((e): [number, string, string] => [e.kv.modRevision, e.type, str(e.kv.key)]));
  }
}

const noFilters = { noPut: false, noDelete: false };

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const stores = new TmpStores();
const hubs: WatchHub[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) h.close();
  await stores.cleanup();
});

let ci = 0;
const put = (s: MvccStore, k: string, v: string) => s.put(pr(k, v), ++ci);
const del = (s: MvccStore, k: string, end = '') => s.deleteRange(dr(k, end), ++ci);

function hubOn(store: MvccStore, opts: ConstructorParameters<typeof WatchHub>[1] = {}): WatchHub {
  const h = new WatchHub(store, { victimRetryMs: 2, syncIntervalMs: 5, ...opts });
  hubs.push(h);
  return h;
}

function watch(hub: WatchHub, sink: WatchSink, start: string, end?: string | null, startRev = 0, filters = noFilters, id = 0n): Watcher {
  return hub.watch({ id, range: { start, end }, startRev, filters, sink });
}

describe('watch hub: synced watchers (fed at commit)', () => {
  it('single key, prefix range and from-key watchers see exactly their keys, with full KeyValues', async () => {
    const s = await stores.open();
    const hub = hubOn(s);
    const one = new TestSink(), pre = new TestSink(), from = new TestSink();
    watch(hub, one, 'foo', undefined, 0, noFilters, 1n);
    watch(hub, pre, 'foo', 'fop', 0, noFilters, 2n);
    watch(hub, from, 'g', null, 0, noFilters, 3n);
    await put(s, 'foo', 'a'); // 2
    await put(s, 'foo1', 'b'); // 3
    await put(s, 'zoo', 'c'); // 4
    await put(s, 'foo', 'd'); // 5
    await del(s, 'foo'); // 6
    expect(one.events()).toEqual([[2, 'PUT', 'foo'], [5, 'PUT', 'foo'], [6, 'DELETE', 'foo']]);
    expect(pre.events()).toEqual([[2, 'PUT', 'foo'], [3, 'PUT', 'foo1'], [5, 'PUT', 'foo'], [6, 'DELETE', 'foo']]);
    expect(from.events()).toEqual([[4, 'PUT', 'zoo']]);
    // create/mod revision, version, value, lease; the tombstone carries the deletion revision
    expect(one.responses.map((r) => [r.watchId, r.revision, kvt(r.events[0]!.kv)])).toEqual([
      [1n, 2, ['foo', 'a', 2, 2, 1, 0n]],
      [1n, 5, ['foo', 'd', 2, 5, 2, 0n]],
      [1n, 6, ['foo', '', 0, 6, 0, 0n]],
    ]);
  });

  it("one Txn's changes arrive in one response; filters drop PUTs or DELETEs", async () => {
    const s = await stores.open();
    const hub = hubOn(s);
    const all = new TestSink(), noPut = new TestSink(), noDel = new TestSink();
    watch(hub, all, 'k', 'l');
    watch(hub, noPut, 'k', 'l', 0, { noPut: true, noDelete: false });
    watch(hub, noDel, 'k', 'l', 0, { noPut: false, noDelete: true });
    await put(s, 'k1', 'x'); // 2
    await s.txn({
      compare: [],
      success: [{ put: pr('k2', 'y') }, { put: pr('k3', 'z') }, { deleteRange: dr('k1') }],
      failure: [],
    }, ++ci); // 3
    expect(all.responses.map((r) => [r.revision, r.events.map((e) => `${e.type} ${str(e.kv.key)}`)])).toEqual([
      [2, ['PUT k1']],
      [3, ['PUT k2', 'PUT k3', 'DELETE k1']],
    ]);
    expect(noPut.events()).toEqual([[3, 'DELETE', 'k1']]);
    expect(noDel.events()).toEqual([[2, 'PUT', 'k1'], [3, 'PUT', 'k2'], [3, 'PUT', 'k3']]);
  });

  it('a future start revision waits: nothing before it, everything from it', async () => {
    const s = await stores.open();
    const hub = hubOn(s);
    const sink = new TestSink();
    watch(hub, sink, 'a', undefined, s.currentRevision() + 3); // rev 4
    await put(s, 'a', '2');
    await put(s, 'a', '3');
    expect(sink.responses).toEqual([]);
    await put(s, 'a', '4');
    await put(s, 'a', '5');
    expect(sink.events()).toEqual([[4, 'PUT', 'a'], [5, 'PUT', 'a']]);
  });
});

describe('watch hub: unsynced watchers (history)', () => {
  it('replays history from LevelDB, then continues live without a gap or a duplicate', async () => {
    const s = await stores.open();
    for (let i = 0; i < 5; i++) await put(s, 'h', String(i)); // 2..6
    await s.flush();
    const hub = hubOn(s);
    const sink = new TestSink();
    watch(hub, sink, 'h', undefined, 3);
    expect(sink.responses).toEqual([]); // never synchronously from watch()
    await until('history', () => sink.events().length === 4);
    expect(sink.responses[0]!.revision).toBe(6);
    await put(s, 'h', 'live'); // 7
    expect(sink.events().map(([r]) => r)).toEqual([3, 4, 5, 6, 7]);
    expect(kvt(sink.responses[0]!.events[0]!.kv)).toEqual(['h', '1', 2, 3, 2, 0n]);
  });

  it('replays from the unflushed write buffer (no I/O) and across LevelDB + buffer', async () => {
    const s = await stores.open(undefined, { flushIntervalMs: 60_000, flushMaxOps: 1_000_000 });
    await put(s, 'x', '1'); // 2
    await del(s, 'x'); // 3
    await s.flush();
    await put(s, 'x', '2'); // 4 (buffered)
    await put(s, 'y', 'n'); // 5 (buffered)
    await put(s, 'x', '3'); // 6 (buffered)
    expect(s.backend.bufferedRevision(4)).toBeDefined();
    const hub = hubOn(s);
    const fromBuffer = new TestSink(), mixed = new TestSink();
    watch(hub, fromBuffer, 'x', undefined, 4);
    watch(hub, mixed, 'x', undefined, 2);
    await until('both caught up', () => fromBuffer.events().length === 2 && mixed.events().length === 4);
    expect(fromBuffer.events()).toEqual([[4, 'PUT', 'x'], [6, 'PUT', 'x']]);
    expect(mixed.events()).toEqual([[2, 'PUT', 'x'], [3, 'DELETE', 'x'], [4, 'PUT', 'x'], [6, 'PUT', 'x']]);
    // the tombstone read back from LevelDB carries its revision
    expect(kvt(mixed.responses[0]!.events[1]!.kv)).toEqual(['x', '', 0, 3, 0, 0n]);
  });

  it('a start revision below the compacted one gets compact_revision (header revision 0) and is canceled; at it is fine', async () => {
    const s = await stores.open();
    for (let i = 0; i < 5; i++) await put(s, 'c', String(i)); // 2..6
    await s.compact(4, ++ci);
    await s.compactionDone();
    const hub = hubOn(s);
    const below = new TestSink(), at = new TestSink();
    const w = watch(hub, below, 'c', undefined, 3);
    watch(hub, at, 'c', undefined, 4);
    await until('compacted response', () => below.responses.length === 1 && at.events().length === 3);
    expect(below.responses).toEqual([{ watchId: 0n, events: [], revision: 0, compactRevision: 4 }]);
    expect(w.state).toBe('gone');
    expect(at.events().map(([r]) => r)).toEqual([4, 5, 6]);
    await put(s, 'c', 'after');
    expect(below.responses).toHaveLength(1);
  });

  it('catches up in bounded batches that never split a revision', async () => {
    const s = await stores.open();
    for (let i = 0; i < 50; i++) {
      await s.txn({ compare: [], success: [{ put: pr('b1', String(i)) }, { put: pr('b2', String(i)) }], failure: [] }, ++ci);
    }
    await s.flush();
    const hub = hubOn(s, { maxRevsPerBatch: 7, maxBytesPerBatch: 1 << 20 });
    const byRevs = new TestSink();
    watch(hub, byRevs, 'b', 'c', 2);
    await until('caught up', () => byRevs.events().length === 100);
    expect(byRevs.responses.length).toBe(Math.ceil(50 / 7));
    for (const r of byRevs.responses) {
      const revs = new Set(r.events.map((e) => e.kv.modRevision));
      expect(revs.size).toBeLessThanOrEqual(7);
      expect(r.revision).toBe(Math.max(...revs));
    }
    // a byte budget smaller than one revision still moves one whole revision per batch
    const hub2 = hubOn(s, { maxRevsPerBatch: 1000, maxBytesPerBatch: 1 });
    const byBytes = new TestSink();
    watch(hub2, byBytes, 'b', 'c', 2);
    await until('caught up by bytes', () => byBytes.events().length === 100);
    expect(byBytes.responses.map((r) => r.events.length)).toEqual(Array(50).fill(2));
    expect(byBytes.events()).toEqual(byRevs.events());

    // watchers at different starts share reads; a batch ending below a
    // watcher's start leaves that watcher where it was
    const hub3 = hubOn(s, { maxRevsPerBatch: 5 });
    const early = new TestSink(), late = new TestSink();
    watch(hub3, early, 'b1', undefined, 2);
    watch(hub3, late, 'b2', undefined, 40);
    await until('both caught up', () => early.events().length === 50 && late.events().length === 12);
    expect(late.events().map(([r]) => r)).toEqual(Array.from({ length: 12 }, (_, i) => i + 40));
    expect(early.events().map(([r]) => r)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
  });
});

describe('watch hub: sinks that take a fan-out without response objects (sendEvents)', () => {
  /** Records which entry point each response came through. */
  class EventsSink extends TestSink {
    via: string[] = [];
    arrays = new Set<unknown>();
    override send(r: MvccWatchResponse): boolean {
      this.via.push(`send ${r.watchId}`);
      return super.send(r);
    }
    sendEvents(watchId: bigint, events: MvccWatchResponse['events'], revision: number): boolean {
      this.via.push(`events ${watchId}`);
      this.arrays.add(events);
      return super.send({ watchId, events, revision, compactRevision: 0 });
    }
  }

  it('unfiltered watchers get one revision\'s events through sendEvents, all the same array; filtered ones through send', async () => {
    const s = await stores.open();
    const hub = hubOn(s);
    const sink = new EventsSink();
    for (let id = 0n; id < 3n; id++) watch(hub, sink, 'k', 'l', 0, noFilters, id);
    watch(hub, sink, 'k', 'l', 0, { noPut: false, noDelete: true }, 9n);
    await put(s, 'k1', 'v'); // 2
    expect(sink.via.sort()).toEqual(['events 0', 'events 1', 'events 2', 'send 9']);
    expect(sink.arrays.size).toBe(1);
    expect(sink.events(1n)).toEqual([[2, 'PUT', 'k1']]);
    expect(sink.events(9n)).toEqual([[2, 'PUT', 'k1']]);
  });

  it('a refusal through sendEvents keeps the whole response with the victim, and it catches up exactly once', async () => {
    const s = await stores.open();
    const hub = hubOn(s);
    const slow = new EventsSink(), fast = new TestSink();
    const sw = watch(hub, slow, 'k', 'l', 0, noFilters, 5n);
    watch(hub, fast, 'k', 'l');
    await put(s, 'k', 'a'); // 2
    slow.full = true;
    await put(s, 'k', 'b'); // 3
    await put(s, 'k', 'c'); // 4
    expect(sw.state).toBe('victim');
    expect(sw.pending).toMatchObject({ watchId: 5n, revision: 3, compactRevision: 0 });
    expect(sw.pending!.events.map((e) => e.kv.modRevision)).toEqual([3]);
    slow.full = false;
    hub.kick();
    await until('caught up', () => slow.events().length === 3 && sw.state === 'synced');
    expect(slow.events()).toEqual(fast.events());
  });
});

describe('watch hub: slow consumers', () => {
  it('a consumer that stops taking responses never holds up writes or other watchers, and catches up exactly once', async () => {
    const s = await stores.open();
    const hub = hubOn(s, { maxRevsPerBatch: 50 });
    const slow = new TestSink(), fast = new TestSink();
    const sw = watch(hub, slow, 'k', 'l');
    watch(hub, fast, 'k', 'l');
    await put(s, 'k', 'first'); // 2
    slow.full = true;
    for (let i = 0; i < 300; i++) await put(s, `k${i % 7}`, String(i)); // 3..302
    expect(fast.events()).toHaveLength(301);
    // one refused response kept, nothing else
    expect(sw.state).toBe('victim');
    expect(sw.pending!.events).toHaveLength(1);
    expect(hub.stats()).toEqual({ synced: 1, unsynced: 0, victims: 1, victimized: 1 });
    slow.full = false;
    hub.kick();
    await until('slow caught up', () => slow.events().length === 301);
    expect(sw.state).toBe('synced');
    await put(s, 'k', 'last');
    expect(slow.events()).toEqual(fast.events());
    const revs = slow.events().map(([r]) => r);
    expect(revs).toEqual(Array.from({ length: 302 }, (_, i) => i + 2));
  });

  it('a watcher refused while catching up keeps one batch and resumes after it', async () => {
    const s = await stores.open();
    for (let i = 0; i < 40; i++) await put(s, 'r', String(i)); // 2..41
    await s.flush();
    const hub = hubOn(s, { maxRevsPerBatch: 10 });
    const sink = new TestSink();
    let accept = 2;
    sink.send = (r) => {
      if (accept === 0) return false;
      accept--;
      sink.responses.push(r);
      return true;
    };
    const w = watch(hub, sink, 'r', undefined, 2);
    await until('victim', () => w.state === 'victim');
    expect(sink.events()).toHaveLength(20);
    expect(w.pending!.events.map((e) => e.kv.modRevision)).toEqual([22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);
    accept = 100;
    await until('caught up', () => sink.events().length === 40 && w.state === 'synced');
    expect(sink.events().map(([r]) => r)).toEqual(Array.from({ length: 40 }, (_, i) => i + 2));
  });
});

describe('prev_kv lookups', () => {
  it('the previous version for updates and deletes; none for creations or compacted history', async () => {
    const s = await stores.open();
    await put(s, 'p', 'v1'); // 2
    await put(s, 'p', 'v2'); // 3
    await del(s, 'p'); // 4
    await put(s, 'p', 'v3'); // 5
    await s.flush();
    const hub = hubOn(s);
    const sink = new TestSink();
    watch(hub, sink, 'p', undefined, 2);
    await until('history', () => sink.events().length === 4);
    const evs = sink.responses.flatMap((r) => r.events);
    const prev = await Promise.all(evs.map((e) => hub.prevKv(e)));
    expect(prev.map((kv) => (kv ? kvt(kv) : undefined))).toEqual([
      undefined, // created at 2
      ['p', 'v1', 2, 2, 1, 0n],
      ['p', 'v2', 2, 3, 2, 0n],
      undefined, // re-created at 5
    ]);
    // memoised: one lookup however many watchers ask
    expect(hub.prevKv(evs[1]!)).toBe(hub.prevKv(evs[1]!));
    await s.compact(3, ++ci);
    expect(prevKvOf(s, evs[1]!)).toBeUndefined(); // needs rev 2 < 3
    expect(kvt((await prevKvOf(s, evs[2]!))!)).toEqual(['p', 'v2', 2, 3, 2, 0n]); // rev 3 is kept
  });
});

describe('store swap (snapshot installed)', () => {
  it('synced watchers catch up from the new store without duplicates', async () => {
    const a = await stores.open();
    const bStore = await stores.open();
    const hub = hubOn(a);
    const sink = new TestSink();
    watch(hub, sink, 's', 't');
    await put(a, 's1', 'x'); // 2
    await put(bStore, 's1', 'x'); // 2
    await put(bStore, 's2', 'y'); // 3
    await put(bStore, 'zz', 'z'); // 4
    await put(bStore, 's1', 'w'); // 5
    hub.setStore(bStore);
    await put(a, 's9', 'old store'); // not watched any more
    await until('caught up', () => sink.events().length === 3);
    await put(bStore, 's3', 'live'); // 6
    expect(sink.events()).toEqual([[2, 'PUT', 's1'], [3, 'PUT', 's2'], [5, 'PUT', 's1'], [6, 'PUT', 's3']]);
  });
});

describe('watch hub: deletes at the compaction revision (etcd-io/etcd#18089)', () => {
  it('a watch from the compaction revision gets the delete made at it', async () => {
    const s = await stores.open();
    await put(s, 'd', '1'); // 2
    await del(s, 'd'); // 3
    await put(s, 'd', '2'); // 4
    await s.compact(3, ++ci);
    await s.compactionDone();
    const hub = hubOn(s);
    const sink = new TestSink();
    watch(hub, sink, 'd', undefined, 3);
    await until('caught up', () => sink.events().length === 2);
    expect(sink.events()).toEqual([[3, 'DELETE', 'd'], [4, 'PUT', 'd']]);
  });

  it('a synced watcher caught up across a snapshot install gets the delete at the new store\'s compaction revision (simulation seed 4014244)', async () => {
    // The member had applied revision 3 (the watcher's next revision is 4) when it installed
    // a store compacted at 4, a revision whose only change is a delete in the watched range.
    const a = await stores.open();
    const next = await stores.open();
    const hub = hubOn(a);
    const sink = new TestSink();
    watch(hub, sink, 'k', 'l');
    for (const s of [a, next]) {
      await put(s, 'k1', 'x'); // 2
      await put(s, 'p', 'unwatched'); // 3
    }
    await until('live event', () => sink.events().length === 1);
    await del(next, 'k1'); // 4
    await put(next, 'k2', 'y'); // 5
    await next.compact(4, ++ci);
    await next.compactionDone();
    hub.setStore(next);
    await until('caught up', () => sink.events().length === 3);
    expect(sink.events()).toEqual([[2, 'PUT', 'k1'], [4, 'DELETE', 'k1'], [5, 'PUT', 'k2']]);
    expect(sink.responses.some((r) => r.compactRevision !== 0)).toBe(false);
  });
});

describe('watch streams', () => {
  it('ids from 0 upwards, client-chosen ids, and etcd errors for duplicates and empty ranges', async () => {
    const s = await stores.open();
    const hub = hubOn(s);
    const ws = new WatchStream(hub, new TestSink());
    const req = (id: bigint, key = 'a', end?: string) => ({ id, key: b(key), rangeEnd: end === undefined ? undefined : b(end), startRev: 0, filters: noFilters });
    expect(ws.watch(req(0n))).toBe(0n);
    expect(ws.watch(req(0n))).toBe(1n);
    expect(ws.watch(req(3n))).toBe(3n);
    expect(ws.watch(req(0n))).toBe(2n);
    expect(ws.watch(req(0n))).toBe(4n); // skips the client's 3
    expect(() => ws.watch(req(3n))).toThrow('mvcc: duplicate watch ID provided on the WatchStream');
    expect(() => ws.watch(req(0n, 'b', 'a'))).toThrow('mvcc: watcher range is empty');
    expect(() => ws.watch(req(0n, 'b', 'b'))).toThrow('mvcc: watcher range is empty');
    expect(ws.watch(req(0n, 'b', ''))).toBe(5n); // from-key
    expect(ws.cancel(3n)).toBe(true);
    expect(ws.cancel(3n)).toBe(false);
    expect(ws.watch(req(3n))).toBe(3n); // free again
    expect(hub.stats().synced).toBe(6);
    ws.close();
    expect(hub.stats().synced).toBe(0);
  });

  it('a progress request waits until every watcher of the stream is synced', async () => {
    const s = await stores.open();
    for (let i = 0; i < 5; i++) await put(s, 'q', String(i));
    await s.flush();
    const hub = hubOn(s);
    const sink = new TestSink();
    const ws = new WatchStream(hub, sink);
    ws.watch({ id: 0n, key: b('q'), rangeEnd: undefined, startRev: 2, filters: noFilters });
    ws.requestProgressAll();
    expect(sink.responses).toEqual([]);
    await until('progress', () => sink.responses.some((r) => r.watchId === -1n));
    const last = sink.responses[sink.responses.length - 1]!;
    expect(last).toEqual({ watchId: -1n, events: [], revision: 6, compactRevision: 0 });
    expect(sink.events().map(([r]) => r)).toEqual([2, 3, 4, 5, 6]);
    ws.requestProgressAll(); // all synced: at once
    expect(sink.responses[sink.responses.length - 1]!.watchId).toBe(-1n);
  });
});
