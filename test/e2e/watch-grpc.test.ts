// The Watch protocol seen response by response through a raw gRPC stream:
// created/canceled answers and etcd's error texts, ids, cancel, filters,
// prev_kv, compacted and future start revisions, progress requests and
// progress_notify, fragmentation. Every case runs against bin/etcd-ts and, when
// etcd 3.4 is on PATH, against it too: the expectations are etcd's behaviour.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as pb from '../../src/pb/types.js';
import { etcdIs34, startMember, stopMember, type Member } from './helpers/etcd-process.js';
import { KvClient } from './helpers/kv-client.js';
import { WatchClient } from './helpers/watch-client.js';


const IMPLS: ('etcd-ts' | 'etcd')[] = ['etcd-ts', ...(etcdIs34() ? (['etcd'] as const) : [])];
const b = (s: string): Buffer => Buffer.from(s);
const NOPUT = 0, NODELETE = 1;

/** [type, key, value, mod revision] of events (DELETE = 1). */
const brief = (evs: pb.Event[]): [number, string, string, bigint][] =>
  evs.map((e) => [e.type, e.kv!.key.toString(), e.kv!.value.toString(), e.kv!.modRevision]);

describe.each(IMPLS)('Watch protocol over raw gRPC (%s)', (impl) => {
  let m: Member;
  let kv: KvClient;
  const streams: WatchClient[] = [];
  const open = (opts?: ConstructorParameters<typeof WatchClient>[1]): WatchClient => {
    const w = new WatchClient(m.endpoint, opts);
    streams.push(w);
    return w;
  };
  const put = async (k: string, v: string | Buffer): Promise<bigint> => (await kv.put(k, v)).header!.revision;

  beforeAll(async () => {
    m = await startMember({ impl, extraArgs: ['--experimental-watch-progress-notify-interval', '300ms'] });
    kv = new KvClient(m.endpoint);
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    kv?.close();
    await stopMember(m);
  });

  it('created answers: ids from 0 on each stream, client-chosen ids, etcd errors for a duplicate id and an empty range', async () => {
    const rev = await put('pre', 'x');
    const w = open();
    w.create({ key: b('a') });
    const first = await w.next();
    expect(first).toMatchObject({ watchId: 0n, created: true, canceled: false, cancelReason: '', events: [] });
    expect(first.header!.revision).toBe(rev);
    expect(first.header!.clusterId).not.toBe(0n);
    expect(first.header!.memberId).not.toBe(0n);
    expect(first.header!.raftTerm).toBeGreaterThan(0n);
    w.create({ key: b('a'), watchId: 7n });
    expect(await w.next()).toMatchObject({ watchId: 7n, created: true, canceled: false });
    w.create({ key: b('a') });
    expect(await w.next()).toMatchObject({ watchId: 1n, created: true });
    w.create({ key: b('a'), watchId: 7n });
    expect(await w.next()).toMatchObject({
      watchId: -1n, created: true, canceled: true, cancelReason: 'mvcc: duplicate watch ID provided on the WatchStream',
    });
    w.create({ key: b('b'), rangeEnd: b('a') });
    expect(await w.next()).toMatchObject({ watchId: -1n, created: true, canceled: true, cancelReason: 'mvcc: watcher range is empty' });
    // another stream numbers its own watchers from 0, even on the same connection
    const other = open({ client: w.grpcClient });
    other.create({ key: b('a') });
    expect(await other.next()).toMatchObject({ watchId: 0n, created: true });
  });

  it('cancel is answered with canceled; an unknown id gets no answer; nothing follows a cancel', async () => {
    const w = open();
    w.create({ key: b('c') });
    const { watchId } = await w.next();
    const rev = await put('c', '1');
    expect(brief((await w.next()).events)).toEqual([[0, 'c', '1', rev]]);
    w.cancel(watchId);
    const r = await w.next();
    expect(r).toMatchObject({ watchId, canceled: true, created: false });
    expect(r.header!.revision).toBe(rev);
    w.cancel(42n);
    await put('c', '2');
    await w.nothingFor(300);
  });

  it('events: one response per revision at that revision, a Txn in one response, filters, prev_kv', async () => {
    const w = open();
    w.create({ key: b('e/'), rangeEnd: b('e0') }); // prefix e/
    w.create({ key: b('e/'), rangeEnd: b('e0'), filters: [NOPUT] });
    w.create({ key: b('e/'), rangeEnd: b('e0'), filters: [NODELETE], prevKv: true });
    for (let i = 0; i < 3; i++) await w.next();
    const r1 = await put('e/1', 'a');
    const r2 = await put('e/1', 'b');
    const txn = await kv.txn({
      success: [
        { requestPut: { key: b('e/2'), value: b('c') } },
        { requestDeleteRange: { key: b('e/1') } },
        { requestPut: { key: b('other'), value: b('x') } },
      ],
    });
    const r3 = txn.header!.revision;
    const got = new Map<bigint, pb.WatchResponse[]>();
    for (let i = 0; i < 7; i++) {
      const r = await w.next();
      got.set(r.watchId, [...(got.get(r.watchId) ?? []), r]);
    }
    await w.nothingFor(200);
    const all = got.get(0n)!;
    expect(all.map((r) => r.header!.revision)).toEqual([r1, r2, r3]);
    expect(all.map((r) => brief(r.events))).toEqual([
      [[0, 'e/1', 'a', r1]],
      [[0, 'e/1', 'b', r2]],
      [[0, 'e/2', 'c', r3], [1, 'e/1', '', r3]],
    ]);
    expect(all[0]!.events[0]!.kv).toMatchObject({ createRevision: r1, modRevision: r1, version: 1n, lease: 0n });
    expect(all[1]!.events[0]!.kv).toMatchObject({ createRevision: r1, modRevision: r2, version: 2n });
    expect(all.every((r) => r.events.every((e) => e.prevKv === undefined))).toBe(true);
    expect(got.get(1n)!.map((r) => brief(r.events))).toEqual([[[1, 'e/1', '', r3]]]);
    const puts = got.get(2n)!;
    expect(puts.map((r) => brief(r.events))).toEqual([[[0, 'e/1', 'a', r1]], [[0, 'e/1', 'b', r2]], [[0, 'e/2', 'c', r3]]]);
    // prev_kv: none for a creation, the version before for an update
    expect(puts[0]!.events[0]!.prevKv).toBeUndefined();
    expect(puts[1]!.events[0]!.prevKv).toMatchObject({ key: b('e/1'), value: b('a'), modRevision: r1, version: 1n });
  });

  it('a compacted start revision: created, then compact_revision and canceled with header revision 0', async () => {
    const first = await put('z', '1');
    await put('z', '2');
    const last = await put('z', '3');
    await kv.compact(Number(last) - 1, true);
    const w = open();
    w.create({ key: b('z'), startRevision: first });
    expect(await w.next()).toMatchObject({ watchId: 0n, created: true, canceled: false });
    const r = await w.next();
    expect(r).toMatchObject({ watchId: 0n, canceled: true, created: false, compactRevision: last - 1n, events: [] });
    expect(r.header!.revision).toBe(0n);
    // at the compacted revision itself history is still there
    w.create({ key: b('z'), startRevision: last - 1n });
    expect(await w.next()).toMatchObject({ watchId: 1n, created: true });
    expect(brief(await w.events(1n, 2))).toEqual([[0, 'z', '2', last - 1n], [0, 'z', '3', last]]);
  });

  it('a future start revision waits for it: nothing before, its event when it comes', async () => {
    const cur = await put('f', '0');
    const w = open();
    w.create({ key: b('f'), startRevision: cur + 3n });
    expect(await w.next()).toMatchObject({ created: true });
    await put('f', '1');
    await put('f', '2');
    await w.nothingFor(300);
    const r3 = await put('f', '3');
    expect(brief(await w.events(0n, 1))).toEqual([[0, 'f', '3', r3]]);
  });

  it('a progress request is answered with watch id -1 at the current revision', async () => {
    const w = open();
    w.create({ key: b('p') });
    await w.next();
    const rev = await put('unrelated', 'x');
    w.progress();
    const r = await w.next();
    expect(r).toMatchObject({ watchId: -1n, created: false, canceled: false, events: [] });
    expect(r.header!.revision).toBe(rev);
  });

  it('progress_notify (interval 300 ms): idle watchers that asked get notified at the current revision, others do not', async () => {
    const rev = await put('unrelated', 'y');
    const asked = open();
    asked.create({ key: b('q'), progressNotify: true, watchId: 5n });
    const notAsked = open();
    notAsked.create({ key: b('q') });
    await asked.next();
    await notAsked.next();
    const r = await asked.next(3_000);
    expect(r).toMatchObject({ watchId: 5n, events: [], created: false, canceled: false });
    expect(r.header!.revision).toBe(rev);
    await notAsked.nothingFor(800);
  });

  it('fragment: a revision over the size limit is split only for watchers that asked', async () => {
    const big = Buffer.alloc(1_000_000, 'v');
    for (let i = 1; i <= 5; i++) await put(`big/${i}`, big);
    const frag = open();
    frag.create({ key: b('big/'), rangeEnd: b('big0'), prevKv: true, fragment: true });
    const whole = open();
    whole.create({ key: b('big/'), rangeEnd: b('big0'), prevKv: true });
    await frag.next();
    await whole.next();
    const del = await kv.deleteRange({ key: b('big/'), rangeEnd: b('big0') });
    const rev = del.header!.revision;
    const parts = [await frag.next(), await frag.next(), await frag.next()];
    expect(parts.map((p) => [p.events.length, p.fragment, p.header!.revision])).toEqual([[2, true, rev], [2, true, rev], [1, false, rev]]);
    const keys = parts.flatMap((p) => p.events.map((e) => [e.type, e.kv!.key.toString(), e.prevKv!.value.length]));
    expect(keys).toEqual([1, 2, 3, 4, 5].map((i) => [1, `big/${i}`, 1_000_000]));
    const one = await whole.next();
    expect([one.events.length, one.fragment]).toEqual([5, false]);
    await frag.nothingFor(200);
  });

  it('an empty key with range_end "\\0" watches every key', async () => {
    const w = open();
    w.create({ key: Buffer.alloc(0), rangeEnd: Buffer.from([0]) });
    await w.next();
    const r1 = await put('\x01low', 'l');
    const r2 = await put('\xffhigh', 'h');
    expect((await w.events(0n, 2)).map((e) => e.kv!.modRevision)).toEqual([r1, r2]);
  });
});
