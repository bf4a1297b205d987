import { describe, expect, it } from 'vitest';
import type { Event, KeyValue } from '../../src/mvcc/types.js';
import { messageCodec, type WatchResponse } from '../../src/pb/index.js';
import {
  encodeEvent, encodeFragments, encodeHeader, encodeSharedResponses, encodeWatchResponse, GRPC_PREFIX_BYTES,
} from '../../src/server/api/watch-encode.js';

const codec = messageCodec<WatchResponse>('etcdserverpb.WatchResponse');
const b = (s: string): Buffer => Buffer.from(s);
const kv = (key: string, value: string, o: Partial<KeyValue> = {}): KeyValue => ({
  key: b(key), value: b(value), createRevision: 5, modRevision: 7, version: 2, lease: 0n, ...o,
});
const header = encodeHeader({ clusterId: 0xfedcba9876543210n, memberId: 0x8e9e05c52164694dn, revision: 7, raftTerm: 3n });

describe('WatchResponse encoding (checked by decoding with the generated codec)', () => {
  it('header, ids, flags, reason and events decode to what was meant', () => {
    const put: Event = { type: 'PUT', kv: kv('a', 'x', { lease: 0x7fffffffffffffffn }) };
    const del: Event = { type: 'DELETE', kv: kv('b', '', { createRevision: 0, version: 0 }) };
    const prev = kv('a', 'old', { modRevision: 6, version: 1 });
    const buf = encodeWatchResponse({ header, watchId: 42n, created: false, compactRevision: 0 }, [encodeEvent(put, prev), encodeEvent(del)]);
    const r = codec.decode(buf);
    expect(r.header).toEqual({ clusterId: 0xfedcba9876543210n, memberId: 0x8e9e05c52164694dn, revision: 7n, raftTerm: 3n });
    expect(r.watchId).toBe(42n);
    expect(r.events).toHaveLength(2);
    expect(r.events[0]).toMatchObject({ type: 0, kv: { key: b('a'), value: b('x'), lease: 0x7fffffffffffffffn, modRevision: 7n }, prevKv: { value: b('old'), modRevision: 6n, version: 1n } });
    expect(r.events[1]).toMatchObject({ type: 1, kv: { key: b('b'), createRevision: 0n, modRevision: 7n }, prevKv: undefined });

    const err = codec.decode(encodeWatchResponse({ header, watchId: -1n, created: true, canceled: true, cancelReason: 'mvcc: watcher range is empty' }));
    expect(err).toMatchObject({ watchId: -1n, created: true, canceled: true, cancelReason: 'mvcc: watcher range is empty', events: [] });
    const compacted = codec.decode(encodeWatchResponse({ header: encodeHeader({ clusterId: 1n, memberId: 2n, revision: 0, raftTerm: 3n }), watchId: 0n, canceled: true, compactRevision: 9 }));
    expect(compacted).toMatchObject({ watchId: 0n, canceled: true, compactRevision: 9n, header: { revision: 0n } });
  });

  it('framed responses carry the gRPC prefix: flag 0 and the big-endian message length', () => {
    const plain = encodeWatchResponse({ header, watchId: 1n }, [encodeEvent({ type: 'PUT', kv: kv('k', 'v') })]);
    const framed = encodeWatchResponse({ header, watchId: 1n }, [encodeEvent({ type: 'PUT', kv: kv('k', 'v') })], true);
    expect(framed[0]).toBe(0);
    expect(framed.readUInt32BE(1)).toBe(plain.length);
    expect(framed.subarray(GRPC_PREFIX_BYTES)).toEqual(plain);
  });

  it('an event is encoded once per event object (fan-out shares the bytes)', () => {
    const ev: Event = { type: 'PUT', kv: kv('k', 'v') };
    expect(encodeEvent(ev)).toBe(encodeEvent(ev));
    expect(encodeEvent(ev, kv('k', 'p'))).not.toBe(encodeEvent(ev));
  });
});

describe('shared fan-out responses', () => {
  it('are byte for byte the framed responses of each id in turn, whatever the ids and events', () => {
    const idSets: bigint[][] = [
      [0n],
      [0n, 1n, 2n],
      [127n, 128n, 16383n, 16384n, 0x7fffffffffffffffn, -1n, 5n],
      Array.from({ length: 300 }, (_, i) => BigInt(i * 37)),
    ];
    const eventSets: Buffer[][] = [
      [],
      [encodeEvent({ type: 'PUT', kv: kv('k', 'v') })],
      [encodeEvent({ type: 'PUT', kv: kv('w/0001', 'x'.repeat(200)) }), encodeEvent({ type: 'DELETE', kv: kv('w/0002', '', { version: 0 }) })],
      [encodeEvent({ type: 'PUT', kv: kv('big', 'y'.repeat(70_000)) })],
    ];
    for (const ids of idSets) {
      for (const events of eventSets) {
        const want = Buffer.concat(ids.map((watchId) => encodeWatchResponse({ header, watchId, canceled: false, compactRevision: 0 }, events, true)));
        const got = encodeSharedResponses(header, ids, events);
        // equals(), not toEqual(): a mismatch of megabytes would make the diff, not the test, the story
        expect(got.length).toBe(want.length);
        expect(got.equals(want)).toBe(true);
      }
    }
  });

  it('decode as one response per id with the shared events', () => {
    const events = [encodeEvent({ type: 'PUT', kv: kv('a', 'b') })];
    const buf = encodeSharedResponses(header, [3n, 900n], events);
    const first = buf.readUInt32BE(1);
    const r1 = codec.decode(buf.subarray(GRPC_PREFIX_BYTES, GRPC_PREFIX_BYTES + first));
    const rest = buf.subarray(GRPC_PREFIX_BYTES + first);
    const r2 = codec.decode(rest.subarray(GRPC_PREFIX_BYTES, GRPC_PREFIX_BYTES + rest.readUInt32BE(1)));
    expect([r1.watchId, r2.watchId]).toEqual([3n, 900n]);
    for (const r of [r1, r2]) expect(r.events.map((e) => e.kv!.value.toString())).toEqual(['b']);
  });
});

describe('fragmentation (etcd sendFragments)', () => {
  const events = Array.from({ length: 5 }, (_, i) => encodeEvent({ type: 'PUT', kv: kv(`k${i}`, 'v'.repeat(100)) }));
  const fields = { header, watchId: 3n };
  const size = encodeWatchResponse(fields, events).length;

  it('under the limit, or with a single event, the response goes whole', () => {
    expect(encodeFragments(fields, events, size + 1)).toHaveLength(1);
    const one = encodeFragments(fields, events.slice(0, 1), 10);
    expect(one).toHaveLength(1);
    expect(codec.decode(one[0]!).fragment).toBe(false);
  });

  it('at or over it, fragments stay under the limit with at least one event each; the last one says fragment=false', () => {
    for (const max of [size, 300, 120, 1]) {
      const parts = encodeFragments(fields, events, max).map((p) => codec.decode(p));
      expect(parts.length).toBeGreaterThan(1);
      expect(parts.flatMap((p) => p.events.map((e) => e.kv!.key.toString()))).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
      expect(parts.map((p) => p.fragment)).toEqual([...Array(parts.length - 1).fill(true), false]);
      for (const p of parts) {
        expect(p.events.length).toBeGreaterThanOrEqual(1);
        expect(p.watchId).toBe(3n);
        if (p.events.length > 1) expect(codec.encode({ ...p, fragment: true }).length).toBeLessThan(max);
      }
    }
    // 300 bytes hold two ~120-byte events: 2 + 2 + 1
    expect(encodeFragments(fields, events, 300).map((p) => codec.decode(p).events.length)).toEqual([2, 2, 1]);
  });

  it('framed fragments measure the message, not the prefix', () => {
    const plain = encodeFragments(fields, events, 300);
    const framed = encodeFragments(fields, events, 300, true);
    expect(framed.map((f) => f.subarray(GRPC_PREFIX_BYTES))).toEqual(plain);
  });
});
