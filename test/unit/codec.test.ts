// Round-trips and decoded-object conventions of the etcd API codec.
import { describe, expect, it } from 'vitest';
import {
  decodeInternalRequest,
  encodeInternalRequest,
  messageCodec,
  messageNames,
  type Compare,
  type InternalRaftRequest,
  type MemberListResponse,
  type PutRequest,
  type RangeResponse,
  type TxnRequest,
  type TxnResponse,
  type WatchRequest,
  type WatchResponse,
} from '../../src/pb/index.js';
import { apiServices, unimplementedHandlers } from '../../src/server/api/services.js';

const b = (s: string) => Buffer.from(s);
const BIG = 0xfedcba9876543210n; // > 2^63: exercises uint64
const LEASE = 0x694d77ef0a1e2b0cn; // etcd-style lease id, > 2^53

describe('decoded defaults', () => {
  it('fills every non-oneof field of an empty message', () => {
    const put = messageCodec<PutRequest>('etcdserverpb.PutRequest').decode(new Uint8Array(0));
    expect(put).toStrictEqual({
      key: Buffer.alloc(0), value: Buffer.alloc(0), lease: 0n,
      prevKv: false, ignoreValue: false, ignoreLease: false,
    });
    expect(Buffer.isBuffer(put.key)).toBe(true);
    const rr = messageCodec<RangeResponse>('etcdserverpb.RangeResponse').decode(new Uint8Array(0));
    expect(rr.header).toBeUndefined();
    expect('header' in rr).toBe(true);
    expect(rr.kvs).toEqual([]);
    expect(rr.count).toBe(0n);
    expect(rr.more).toBe(false);
  });

  it('returns plain objects, not class instances', () => {
    const rr = messageCodec<RangeResponse>('etcdserverpb.RangeResponse').decode(new Uint8Array(0));
    expect(Object.getPrototypeOf(rr)).toBe(Object.prototype);
  });

  it('leaves absent oneof members off the object', () => {
    const cmp = messageCodec<Compare>('etcdserverpb.Compare').decode(new Uint8Array(0));
    for (const k of ['version', 'createRevision', 'modRevision', 'value', 'lease']) {
      expect(k in cmp).toBe(false);
    }
    expect(cmp.rangeEnd).toEqual(Buffer.alloc(0));
  });
});

describe('round trips', () => {
  it('PutRequest with a lease id above 2^53', () => {
    const c = messageCodec<PutRequest>('etcdserverpb.PutRequest');
    const back = c.decode(c.encode({ key: b('foo'), value: b('bar'), lease: LEASE, prevKv: true }));
    expect(back).toStrictEqual({
      key: b('foo'), value: b('bar'), lease: LEASE, prevKv: true, ignoreValue: false, ignoreLease: false,
    });
  });

  it('accepts numbers for 64-bit fields and encodes them like bigints', () => {
    const c = messageCodec<PutRequest>('etcdserverpb.PutRequest');
    expect(c.encode({ key: b('k'), lease: 12345 })).toEqual(c.encode({ key: b('k'), lease: 12345n }));
    expect(c.decode(c.encode({ key: b('k'), lease: -7 })).lease).toBe(-7n);
  });

  it('int64 extremes and uint64 above 2^63', () => {
    const lg = messageCodec('etcdserverpb.LeaseGrantRequest');
    for (const v of [-1n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, 2n ** 49n, 2n ** 49n - 1n]) {
      expect(lg.decode(lg.encode({ TTL: v, ID: v }))).toStrictEqual({ TTL: v, ID: v });
    }
    const hdr = messageCodec('etcdserverpb.ResponseHeader');
    const h = { clusterId: BIG, memberId: 2n ** 64n - 1n, revision: 9_007_199_254_740_993n, raftTerm: 1n };
    expect(hdr.decode(hdr.encode(h))).toStrictEqual(h);
  });

  it('RangeResponse with kvs', () => {
    const c = messageCodec<RangeResponse>('etcdserverpb.RangeResponse');
    const kvs = Array.from({ length: 10 }, (_, i) => ({
      key: b(`key-${i}`), createRevision: BigInt(i + 1), modRevision: BigInt(i + 100),
      version: 3n, value: b(`value-${i}`), lease: i % 2 ? LEASE : 0n,
    }));
    const msg = {
      header: { clusterId: BIG, memberId: 1n, revision: 110n, raftTerm: 4n },
      kvs, more: true, count: 10n,
    };
    expect(c.decode(c.encode(msg))).toStrictEqual(msg);
  });

  it('Compare oneof: explicit zero is kept, and the set member alone is present', () => {
    const c = messageCodec<Compare>('etcdserverpb.Compare');
    const v0 = c.decode(c.encode({ key: b('a'), target: 0, version: 0n }));
    expect(v0.version).toBe(0n);
    expect(Object.keys(v0).sort()).toEqual(['key', 'rangeEnd', 'result', 'target', 'version']);
    const val = c.decode(c.encode({ key: b('a'), target: 3, value: b('') }));
    expect(val.value).toEqual(Buffer.alloc(0));
    // Two members on the wire: the last wins, the earlier one is dropped.
    const both = c.decode(c.encode({ value: b('x'), lease: LEASE } as never));
    expect(both.lease).toBe(LEASE);
    expect('value' in both).toBe(false);
  });

  it('nested Txn (RequestOp.requestTxn inside a success branch)', () => {
    const c = messageCodec<TxnRequest>('etcdserverpb.TxnRequest');
    const inner = {
      compare: [{ result: 3, target: 2, key: b('x'), modRevision: 5n, rangeEnd: b('y') }],
      success: [{ requestDeleteRange: { key: b('x'), rangeEnd: b('\0'), prevKv: true } }],
      failure: [{ requestRange: { key: b('x'), limit: 2n, sortOrder: 2, sortTarget: 4, keysOnly: true } }],
    };
    const txn = c.decode(c.encode({
      compare: [{ key: b('a'), createRevision: 0n }],
      success: [{ requestPut: { key: b('a'), value: b('1'), lease: LEASE } }, { requestTxn: inner }],
      failure: [],
    }));
    expect(txn.success).toHaveLength(2);
    expect(txn.success[0].requestPut?.lease).toBe(LEASE);
    expect(Object.keys(txn.success[0])).toEqual(['requestPut']);
    const nested = txn.success[1].requestTxn!;
    expect(nested.compare[0]).toMatchObject({ result: 3, target: 2, modRevision: 5n, rangeEnd: b('y') });
    expect(nested.success[0].requestDeleteRange).toStrictEqual({ key: b('x'), rangeEnd: b('\0'), prevKv: true });
    expect(nested.failure[0].requestRange).toMatchObject({ limit: 2n, sortOrder: 2, sortTarget: 4, keysOnly: true, revision: 0n });
    expect(txn.compare[0].createRevision).toBe(0n);
  });

  it('TxnResponse with nested responses', () => {
    const c = messageCodec<TxnResponse>('etcdserverpb.TxnResponse');
    const r = c.decode(c.encode({
      header: { revision: 7 },
      succeeded: true,
      responses: [
        { responsePut: { header: { revision: 7 } } },
        { responseTxn: { succeeded: false, responses: [{ responseRange: { count: 3n } }] } },
      ],
    }));
    expect(r.header?.revision).toBe(7n);
    expect(r.responses[0].responsePut?.prevKv).toBeUndefined();
    expect(r.responses[1].responseTxn?.responses[0].responseRange?.count).toBe(3n);
  });

  it('Watch requests and responses (oneof, packed enum list)', () => {
    const req = messageCodec<WatchRequest>('etcdserverpb.WatchRequest');
    const w = req.decode(req.encode({ createRequest: { key: b('k'), filters: [1, 0], startRevision: 3n, watchId: 9n } }));
    expect(Object.keys(w)).toEqual(['createRequest']);
    expect(w.createRequest).toMatchObject({ filters: [1, 0], startRevision: 3n, watchId: 9n, prevKv: false });
    expect(req.decode(req.encode({ progressRequest: {} }))).toStrictEqual({ progressRequest: {} });
    expect(req.decode(req.encode({ cancelRequest: { watchId: 0n } }))).toStrictEqual({ cancelRequest: { watchId: 0n } });

    const res = messageCodec<WatchResponse>('etcdserverpb.WatchResponse');
    const ev = { type: 1, kv: { key: b('k'), modRevision: 9n }, prevKv: undefined };
    const out = res.decode(res.encode({ watchId: 2n, events: [ev], cancelReason: 'x' }));
    expect(out.events[0].type).toBe(1);
    expect(out.events[0].kv?.modRevision).toBe(9n);
    expect(out.events[0].prevKv).toBeUndefined();
    expect(out.cancelReason).toBe('x');
  });

  it('Member IDs above 2^63 in MemberListResponse', () => {
    const c = messageCodec<MemberListResponse>('etcdserverpb.MemberListResponse');
    const m = { ID: BIG, name: 'n1', peerURLs: ['http://a:2380', 'http://b:2380'], clientURLs: [], isLearner: true };
    const r = c.decode(c.encode({ header: { clusterId: BIG, memberId: BIG }, members: [m] }));
    expect(r.members[0]).toStrictEqual(m);
    expect(r.header?.clusterId).toBe(BIG);
  });

  it('null is treated as absent when encoding', () => {
    const c = messageCodec<PutRequest>('etcdserverpb.PutRequest');
    expect(c.encode({ key: b('k'), value: null, lease: null })).toEqual(c.encode({ key: b('k') }));
  });

  it('every message round-trips its empty form', () => {
    for (const name of messageNames()) {
      const c = messageCodec(name);
      const empty = c.decode(new Uint8Array(0));
      expect(c.encode(empty).length, name).toBe(0);
    }
  });
});

describe('InternalRaftRequest', () => {
  it('round-trips header, id and a put', () => {
    const bytes = encodeInternalRequest({
      header: { ID: BIG, username: 'root', authRevision: 3n },
      ID: BIG,
      put: { key: b('k'), value: b('v'), lease: LEASE },
    });
    const r: InternalRaftRequest = decodeInternalRequest(bytes);
    expect(r.header).toStrictEqual({ ID: BIG, username: 'root', authRevision: 3n, requesterMemberId: 0n });
    expect(r.ID).toBe(BIG);
    expect(r.put?.lease).toBe(LEASE);
    expect(r.txn).toBeUndefined();
  });

  it('uses etcd field numbers (header = 100, auth_enable = 1000, cluster_version_set = 1300)', () => {
    // header: tag (100<<3|2) = 0x322 -> varint a2 06, length 2, {ID: 1}
    expect(Buffer.from(encodeInternalRequest({ header: { ID: 1n } })).toString('hex')).toBe('a206020801');
    // auth_enable: tag (1000<<3|2) = 8002 -> c2 3e, empty
    expect(Buffer.from(encodeInternalRequest({ authEnable: {} })).toString('hex')).toBe('c23e00');
    const r = decodeInternalRequest(encodeInternalRequest({ clusterVersionSet: { ver: '3.4.0' }, leaseCheckpoint: { checkpoints: [{ ID: LEASE, remainingTTL: 30n }] } }));
    expect(r.clusterVersionSet).toStrictEqual({ ver: '3.4.0' });
    expect(r.leaseCheckpoint?.checkpoints[0]).toStrictEqual({ ID: LEASE, remainingTTL: 30n });
    const attrs = decodeInternalRequest(encodeInternalRequest({ clusterMemberAttrSet: { memberID: BIG, memberAttributes: { name: 'a', clientUrls: ['http://x:2379'] } } }));
    expect(attrs.clusterMemberAttrSet).toStrictEqual({ memberID: BIG, memberAttributes: { name: 'a', clientUrls: ['http://x:2379'] } });
  });
});

describe('service definitions', () => {
  it('has all eight services with etcd paths and streaming flags', () => {
    const s = apiServices();
    expect(Object.keys(s).sort()).toEqual(['Auth', 'Cluster', 'Election', 'KV', 'Lease', 'Lock', 'Maintenance', 'Watch']);
    expect(Object.keys(s.KV)).toEqual(['Range', 'Put', 'DeleteRange', 'Txn', 'Compact']);
    expect(s.KV.Range.path).toBe('/etcdserverpb.KV/Range');
    expect(s.Watch.Watch).toMatchObject({ requestStream: true, responseStream: true });
    expect(s.Maintenance.Snapshot).toMatchObject({ requestStream: false, responseStream: true });
    expect(s.Lock.Lock.path).toBe('/v3lockpb.Lock/Lock');
    expect(s.Election.Observe.path).toBe('/v3electionpb.Election/Observe');
    expect(Object.keys(s.Lease)).toHaveLength(5);
    expect(Object.keys(s.Cluster)).toHaveLength(5);
    expect(Object.keys(s.Maintenance)).toHaveLength(8); // 7 of 3.4 + Downgrade (3.5)
    expect(Object.keys(s.Auth)).toHaveLength(17); // 16 of 3.4 + AuthStatus (3.5)
    expect(apiServices()).toBe(s);
  });

  it('serializers speak the same objects as the codecs', () => {
    const m = apiServices().KV.Put;
    const bytes = m.requestSerialize({ key: b('a'), lease: LEASE });
    expect((m.requestDeserialize(bytes) as PutRequest).lease).toBe(LEASE);
  });

  it('unimplementedHandlers covers every method', () => {
    const h = unimplementedHandlers(apiServices().Lease, 'Lease');
    expect(Object.keys(h).sort()).toEqual(Object.keys(apiServices().Lease).sort());
    let err: { code?: number; details?: string } | undefined;
    (h.LeaseGrant as (c: unknown, cb: (e: unknown) => void) => void)({}, (e) => { err = e as typeof err; });
    expect(err?.code).toBe(12);
    expect(err?.details).toBe('etcd-ts: Lease.LeaseGrant is not implemented yet');
  });
});
