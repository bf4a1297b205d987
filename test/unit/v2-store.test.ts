// The v2 store over a real MVCC store (in process, no Raft): the layout, etcd's
// v2 errors for each operation, contention (creates, in-order keys), listings,
// waits from history and their 401 after compaction, and the answer encodings.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type MvccStore, WatchHub } from '../../src/mvcc/index.js';
import type * as pb from '../../src/pb/types.js';
import { decodeAction, encodeAction } from '../../src/server/api/v2/action-record.js';
import { V2Error } from '../../src/server/api/v2/errors.js';
import { ancestors, isHidden, V2Layout } from '../../src/server/api/v2/layout.js';
import { eventBody, goTime, type V2Event } from '../../src/server/api/v2/node.js';
import { LeaseExpiries } from '../../src/server/api/v2/nodes.js';
import { getNode } from '../../src/server/api/v2/read.js';
import { goDuration } from '../../src/server/api/v2/stats.js';
import { startWait, watchSees } from '../../src/server/api/v2/watch.js';
import { V2Writer, type WriteKind } from '../../src/server/api/v2/write.js';
import { rangeFromPb } from '../../src/server/kv-convert.js';
import { TmpStores } from './mvcc-helpers.js';
import { ports } from './v2-helpers.js';

const layout = new V2Layout();
const tmp = new TmpStores();
let store: MvccStore;
let p: ReturnType<typeof ports>;
let writer: V2Writer;

const write = (key: string, kind: WriteKind, ttl?: number): Promise<V2Event> =>
  writer.write({ key, kind, refresh: false, ...(ttl !== undefined ? { ttl } : {}) });
const set = (key: string, value: string, dir = false) => write(key, { op: 'set', dir, value });
const get = (key: string, recursive = false, sorted = false) => getNode(p, layout, key, { recursive, sorted, quorum: false });

async function v2Error(op: Promise<unknown>): Promise<{ code: number; cause: string; index: number }> {
  const err = await op.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(V2Error);
  const e = err as V2Error;
  return { code: e.errorCode, cause: e.cause, index: e.index };
}

beforeEach(async () => {
  store = await tmp.open();
  p = ports(store);
  writer = new V2Writer(p, layout);
});
afterEach(() => tmp.cleanup());

describe('layout (etcd v2v3 keys)', () => {
  it('encodes depth, files and directory markers under /1, and decodes them back', () => {
    expect(layout.fileKey('/message')).toBe('v2//002/k//1/message');
    expect(layout.dirKey('/a/b')).toBe('v2//003/k//1/a/b/');
    expect(layout.childPrefix('/')).toBe('v2//002/k//1/');
    expect(layout.childPrefix('/a')).toBe('v2//003/k//1/a/');
    expect(layout.nodeOf('v2//003/k//1/a/b/')).toEqual({ path: '/a/b', dir: true });
    expect(layout.nodeOf('v2//002/k//1/message')).toEqual({ path: '/message', dir: false });
    expect(layout.nodeOf(layout.actionKey)).toBeUndefined();
    expect(layout.nodeOf('other')).toBeUndefined();
    expect(ancestors('/a/b/c')).toEqual(['/a', '/a/b']);
    expect([isHidden('/a/_b'), isHidden('/_a/b')]).toEqual([true, false]);
  });

  it('lists a directory without the siblings that share its name as a prefix', async () => {
    await set('/dir/a', '1');
    await set('/dirx/b', '2');
    const ev = await get('/dir', true);
    expect(ev.node!.nodes!.map((n) => n.key)).toEqual(['/dir/a']);
  });
});

describe("etcd's v2 store errors", () => {
  it('get: 100 with the first missing component, 104 through a file', async () => {
    await set('/f', 'v');
    const rev = store.currentRevision();
    expect(await v2Error(get('/a/b/c'))).toEqual({ code: 100, cause: '/a', index: rev });
    expect(await v2Error(get('/f/x'))).toEqual({ code: 104, cause: '/f', index: rev });
  });

  it('set: 102 on a directory, 104 under a file, 107 on the root; a directory may replace a file', async () => {
    await set('/d/x', 'v');
    await set('/f', 'v');
    expect((await v2Error(set('/d', 'x'))).code).toBe(102);
    expect(await v2Error(set('/f/x', 'v'))).toMatchObject({ code: 104, cause: '/f' });
    expect(await v2Error(set('/', 'v'))).toMatchObject({ code: 107, cause: '/' });
    const ev = await set('/f', '', true);
    expect(ev.node).toMatchObject({ key: '/f', dir: true });
    expect(ev.prevNode).toMatchObject({ key: '/f', value: 'v' });
    expect((await get('/f')).node!.dir).toBe(true);
  });

  it('create: 105 on a file or a directory; missing parents are made', async () => {
    await set('/d/x', 'v');
    expect(await v2Error(write('/d', { op: 'create', dir: false, value: 'v', unique: false }))).toMatchObject({ code: 105, cause: '/d' });
    expect((await v2Error(write('/d/x', { op: 'create', dir: false, value: 'v', unique: false }))).code).toBe(105);
    const ev = await write('/p/q/r', { op: 'create', dir: false, value: 'v', unique: false });
    expect(ev.action).toBe('create');
    expect((await get('/p/q')).node).toMatchObject({ dir: true, createdIndex: ev.node!.createdIndex });
    // In-order keys may go in the root (etcd allows it), plain writes may not.
    const q = await write('/', { op: 'create', dir: false, value: 'v', unique: true });
    expect(q.node!.key).toBe(`/${String(q.node!.createdIndex).padStart(20, '0')}`);
    expect((await v2Error(write('/', { op: 'create', dir: false, value: 'v', unique: false }))).code).toBe(107);
  });

  it('update and compareAndSwap: 100, 102, 101 with its cause', async () => {
    const first = await set('/k', 'one');
    await set('/d/x', 'v');
    expect((await v2Error(write('/nope', { op: 'update', value: 'v' }))).code).toBe(100);
    expect((await v2Error(write('/d', { op: 'update', value: 'v' }))).code).toBe(102);
    const cas = (prevValue: string | undefined, prevIndex: number) =>
      write('/k', { op: 'compareAndSwap', value: 'two', ...(prevValue !== undefined ? { prevValue } : {}), prevIndex });
    const idx = first.node!.modifiedIndex;
    expect((await v2Error(cas('x', 0))).cause).toBe('[x != one]');
    expect((await v2Error(cas(undefined, 99))).cause).toBe(`[99 != ${idx}]`);
    expect((await v2Error(cas('x', 99))).cause).toBe(`[x != one] [99 != ${idx}]`);
    expect((await v2Error(write('/d', { op: 'compareAndSwap', value: 'v', prevValue: 'a', prevIndex: 0 }))).code).toBe(102);
    const ok = await cas('one', idx);
    expect(ok).toMatchObject({ action: 'compareAndSwap', node: { value: 'two', createdIndex: idx }, prevNode: { value: 'one' } });
    // A directory may be updated (its TTL) but not given a value.
    expect((await write('/d', { op: 'update', value: '' })).node).toMatchObject({ key: '/d', dir: true });
  });

  it("set over a file replaces the node, as etcd's v2 store: a new createdIndex; update and compareAndSwap keep it", async () => {
    const first = await set('/k', 'one');
    const second = await set('/k', 'two');
    expect(second.node).toMatchObject({ value: 'two', createdIndex: second.node!.modifiedIndex });
    expect(second.node!.createdIndex).toBeGreaterThan(first.node!.createdIndex);
    expect(second.prevNode).toEqual({ key: '/k', value: 'one', modifiedIndex: first.node!.modifiedIndex, createdIndex: first.node!.createdIndex });
    expect((await get('/k')).node).toMatchObject({ value: 'two', createdIndex: second.node!.modifiedIndex });
    // The v3 key starts a new life too: version 1 again.
    const kv = (await store.range(rangeFromPb({ key: Buffer.from(layout.fileKey('/k')) } as pb.RangeRequest))).kvs[0]!;
    expect([kv.createRevision, kv.version]).toEqual([second.node!.modifiedIndex, 1]);
    const upd = await write('/k', { op: 'update', value: 'three' });
    expect(upd.node).toMatchObject({ value: 'three', createdIndex: second.node!.createdIndex });
    const cas = await write('/k', { op: 'compareAndSwap', value: 'four', prevValue: 'three', prevIndex: 0 });
    expect(cas.node).toMatchObject({ value: 'four', createdIndex: second.node!.createdIndex });
    const del = await write('/k', { op: 'delete', dir: false, recursive: false });
    expect(del.node).toMatchObject({ createdIndex: second.node!.createdIndex });
    // A TTL set over a permanent file: the new node holds the new lease.
    await set('/t', 'a');
    const ttl = await write('/t', { op: 'set', dir: false, value: 'b' }, 30);
    expect(ttl.node).toMatchObject({ value: 'b', ttl: 30, createdIndex: ttl.node!.modifiedIndex });
    expect((await get('/t')).node).toMatchObject({ value: 'b', createdIndex: ttl.node!.modifiedIndex });
  });

  it('delete: 102 for a directory without dir, 108 when not empty, recursive removes the tree', async () => {
    await set('/d/a/b/c', 'v');
    await set('/e', '', true);
    expect((await v2Error(write('/d', { op: 'delete', dir: false, recursive: false }))).code).toBe(102);
    expect((await v2Error(write('/d', { op: 'delete', dir: true, recursive: false }))).code).toBe(108);
    expect((await write('/e', { op: 'delete', dir: true, recursive: false })).node).toMatchObject({ key: '/e', dir: true });
    const ev = await write('/d', { op: 'delete', dir: false, recursive: true });
    expect(ev.node).toMatchObject({ key: '/d', dir: true });
    expect((await v2Error(get('/d/a/b/c'))).code).toBe(100);
    const left = await store.range({ ...rangeFromPb({ key: Buffer.from(layout.start), rangeEnd: Buffer.from(layout.end) } as pb.RangeRequest) });
    expect(left.kvs.map((kv) => Buffer.from(kv.key).toString())).toEqual([layout.actionKey]);
    expect((await v2Error(write('/', { op: 'delete', dir: true, recursive: true }))).code).toBe(107);
  });

  it('compareAndDelete: 101 on mismatch, deletes on match', async () => {
    await set('/k', 'v');
    expect((await v2Error(write('/k', { op: 'compareAndDelete', prevValue: 'x', prevIndex: 0 }))).cause).toBe('[x != v]');
    expect((await write('/k', { op: 'compareAndDelete', prevValue: 'v', prevIndex: 0 })).action).toBe('compareAndDelete');
  });
});

describe('contention', () => {
  // Three writers: a member queues its own writes, so conflicts (and the retries
  // they cost) come from writes through other members.
  const members = (): V2Writer[] => [writer, new V2Writer(p, layout), new V2Writer(p, layout)];
  const on = (w: V2Writer, key: string, kind: WriteKind) => w.write({ key, kind, refresh: false });

  it('one of many concurrent prevExist=false creates wins; the others get 105', async () => {
    const ws = members();
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) =>
      on(ws[i % 3]!, '/lock', { op: 'create', dir: false, value: `c${i}`, unique: false })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as V2Error).errorCode] : []));
    expect(refused).toEqual(Array(9).fill(105));
  });

  it('concurrent in-order keys get distinct names equal to their created index, in order', async () => {
    const ws = members();
    const evs = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      on(ws[i % 3]!, '/q', { op: 'create', dir: false, value: `j${i}`, unique: true })));
    for (const ev of evs) expect(ev.node!.key).toBe(`/q/${String(ev.node!.createdIndex).padStart(20, '0')}`);
    expect(new Set(evs.map((e) => e.node!.key)).size).toBe(10);
    const listed = (await get('/q', false, true)).node!.nodes!;
    expect(listed.map((n) => n.createdIndex)).toEqual([...listed.map((n) => n.createdIndex)].sort((a, b) => a - b));
  });
});

describe('listings and TTLs', () => {
  it('hides "_" nodes from listings, not from a direct get; sorted sorts every level', async () => {
    await set('/a/_hidden', 'h');
    await set('/a/z', '1');
    await set('/a/b/y', '2');
    await set('/a/b/x', '3');
    const ev = await get('/a', true, true);
    expect(ev.node!.nodes!.map((n) => n.key)).toEqual(['/a/b', '/a/z']);
    expect(ev.node!.nodes![0]!.nodes!.map((n) => n.key)).toEqual(['/a/b/x', '/a/b/y']);
    expect((await get('/a/_hidden')).node!.value).toBe('h');
    expect((await get('/a')).node!.nodes!.find((n) => n.key === '/a/b')!.nodes).toBeUndefined();
  });

  it('a TTL key holds its own lease; a child of a TTL directory holds the directory\'s without showing a TTL', async () => {
    const ev = await write('/t', { op: 'set', dir: true, value: '' }, 30);
    expect(ev.node).toMatchObject({ ttl: 30, dir: true });
    await set('/t/child', 'v');
    const dirLease = (await store.range(rangeFromPb({ key: Buffer.from(layout.dirKey('/t')), rangeEnd: Buffer.alloc(0) } as pb.RangeRequest))).kvs[0]!.lease;
    const child = (await store.range(rangeFromPb({ key: Buffer.from(layout.fileKey('/t/child')), rangeEnd: Buffer.alloc(0) } as pb.RangeRequest))).kvs[0]!;
    expect(child.lease).toBe(dirLease);
    expect((await get('/t/child')).node!.ttl).toBeUndefined();
    const listing = await get('/t');
    expect(listing.node!.ttl).toBe(30);
    expect(listing.node!.nodes![0]!.ttl).toBeUndefined();
  });

  it("a file's own lease is revoked once a write takes the file off it; a directory's stays", async () => {
    await write('/k', { op: 'set', dir: false, value: 'a' }, 100);
    await write('/k', { op: 'set', dir: false, value: 'b' }, 100);
    await new Promise((r) => setImmediate(r));
    expect(p.leases.size).toBe(1);
    await write('/k', { op: 'delete', dir: false, recursive: false });
    await new Promise((r) => setImmediate(r));
    expect(p.leases.size).toBe(0);
    await write('/d', { op: 'set', dir: true, value: '' }, 100);
    await set('/d/child', 'v');
    await write('/d/child', { op: 'delete', dir: false, recursive: false });
    await new Promise((r) => setImmediate(r));
    expect(p.leases.size).toBe(1);
  });

  it('a failed write gives its lease back', async () => {
    await set('/d/x', 'v');
    await v2Error(write('/d', { op: 'set', dir: false, value: 'v' }, 10));
    await new Promise((r) => setImmediate(r));
    expect(p.leases.size).toBe(0);
  });
});

describe('wait', () => {
  const waitFor = (hub: WatchHub, key: string, recursive: boolean, waitIndex: number) =>
    new Promise<V2Event | V2Error>((res) => {
      const h = startWait(hub, layout, { key, recursive, waitIndex }, () => new LeaseExpiries(p.lease), {
        onReady: () => {},
        onEvent: (ev) => {
          h.cancel();
          res(ev);
        },
        onError: res,
      });
    });

  it('replays history from waitIndex, with the action and prevNode of the write', async () => {
    const hub = new WatchHub(store);
    const a = await set('/k', 'one');
    await set('/other', 'x');
    await set('/k', 'two');
    expect(await waitFor(hub, '/k', false, a.node!.modifiedIndex + 1)).toMatchObject({
      action: 'set', node: { key: '/k', value: 'two' }, prevNode: { key: '/k', value: 'one' },
    });
    hub.close();
  });

  it('recursive sees keys below (not hidden ones); a key sees its directory deleted', async () => {
    const hub = new WatchHub(store);
    const start = store.currentRevision() + 1;
    await set('/d/_h', 'x');
    await set('/d/e/f', 'x');
    expect(await waitFor(hub, '/d', true, start)).toMatchObject({ action: 'set', node: { key: '/d/e/f' } });
    const next = store.currentRevision() + 1;
    await write('/d', { op: 'delete', dir: true, recursive: true });
    expect(await waitFor(hub, '/d/e/f', false, next)).toMatchObject({ action: 'delete', node: { key: '/d', dir: true } });
    hub.close();
  });

  it('a set over a file is one set event with the replaced node as prevNode, live and replayed', async () => {
    const hub = new WatchHub(store);
    const a = await set('/k', 'one');
    const live = waitFor(hub, '/k', false, 0);
    const liveDir = waitFor(hub, '/f', false, 0);
    const b = await set('/k', 'two');
    const want = {
      action: 'set',
      node: { key: '/k', value: 'two', modifiedIndex: b.node!.modifiedIndex, createdIndex: b.node!.modifiedIndex },
      prevNode: { key: '/k', value: 'one', modifiedIndex: a.node!.modifiedIndex, createdIndex: a.node!.createdIndex },
      etcdIndex: b.node!.modifiedIndex,
    };
    expect(await live).toEqual(want);
    expect(await waitFor(hub, '/k', false, a.node!.modifiedIndex + 1)).toEqual(want);
    // A directory set over a file: its prevNode is the file.
    const f = await set('/f', 'file');
    const d = await set('/f', '', true);
    expect(await liveDir).toMatchObject({ action: 'set', node: { key: '/f', value: 'file' } });
    expect(await waitFor(hub, '/f', false, d.node!.modifiedIndex)).toMatchObject({
      action: 'set', node: { key: '/f', dir: true, createdIndex: d.node!.modifiedIndex },
      prevNode: { key: '/f', value: 'file', createdIndex: f.node!.createdIndex },
    });
    hub.close();
  });

  it('answers 401 for a waitIndex whose history is compacted', async () => {
    const hub = new WatchHub(store);
    await set('/k', '1');
    await set('/k', '2');
    const rev = store.currentRevision();
    await (await store.compact(rev, 1000)).done;
    const got = await waitFor(hub, '/k', false, 1);
    expect(got).toBeInstanceOf(V2Error);
    expect((got as V2Error).toJSON()).toEqual({
      errorCode: 401, message: 'The event in requested index is outdated and cleared',
      cause: `the requested history has been cleared [${rev}/1]`, index: rev,
    });
    hub.close();
  });

  it('matches as etcd\'s watcher hub does', () => {
    const ev = (action: V2Event['action'], key: string, dir = false): V2Event => ({ action, node: { key, ...(dir ? { dir } : {}), modifiedIndex: 1, createdIndex: 1 }, etcdIndex: 1 });
    expect(watchSees(ev('set', '/a'), '/a', false)).toBe(true);
    expect(watchSees(ev('set', '/a/b'), '/a', false)).toBe(false);
    expect(watchSees(ev('set', '/a/b'), '/a', true)).toBe(true);
    expect(watchSees(ev('set', '/ab'), '/a', true)).toBe(false);
    expect(watchSees(ev('set', '/a/_b/c'), '/a', true)).toBe(false);
    expect(watchSees(ev('set', '/_a/b'), '/_a', true)).toBe(true);
    expect(watchSees(ev('expire', '/a', true), '/a/b/c', false)).toBe(true);
    expect(watchSees(ev('set', '/x'), '/', true)).toBe(true);
  });
});

describe('encodings', () => {
  it("writes Go's JSON: field order, omitempty, RFC 3339 nanoseconds", () => {
    expect(goTime(new Date('2026-12-05T02:44:33.360Z'))).toBe('2026-12-05T02:44:33.36Z');
    expect(goTime(new Date('2026-12-05T02:44:33.000Z'))).toBe('2026-12-05T02:44:33Z');
    const body = eventBody({
      action: 'get',
      node: { key: '', dir: true, nodes: [{ key: '/a', value: '', modifiedIndex: 2, createdIndex: 2 }], modifiedIndex: 0, createdIndex: 0 },
      etcdIndex: 2,
    });
    expect(body).toBe('{"action":"get","node":{"dir":true,"nodes":[{"key":"/a","value":"","modifiedIndex":2,"createdIndex":2}]}}\n');
    expect(eventBody({ action: 'set', node: { key: '/a', value: 'v', modifiedIndex: 1, createdIndex: 1 }, etcdIndex: 1 }, true)).toBe('{"action":"set"}\n');
  });

  it("formats durations as Go's time.Duration", () => {
    expect([goDuration(0), goDuration(0.0005), goDuration(1.5), goDuration(1672.754777), goDuration(61_000), goDuration(3_723_500)])
      .toEqual(['0s', '500ns', '1.5ms', '1.672754777s', '1m1s', '1h2m3.5s']);
  });

  it('round-trips the action record', () => {
    expect(decodeAction('set')).toEqual({ action: 'set', refresh: false });
    const r = { action: 'update' as const, refresh: true, ttl: 30, expiresAtMs: 1764901234567 };
    expect(decodeAction(encodeAction(r))).toEqual(r);
  });
});
