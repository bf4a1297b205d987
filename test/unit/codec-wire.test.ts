// Wire compatibility: bytes laid out by hand with etcd's field numbers (as
// Go's etcd client would send them) decode to the expected objects, and our
// encoder produces the same bytes.
import { describe, expect, it } from 'vitest';
import { messageCodec, type Compare, type MemberListResponse, type PutRequest, type WatchRequest } from '../../src/pb/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('wire compatibility with etcd field numbers', () => {
  it('PutRequest{key:"foo", value:"bar", lease:0x694d77ef0a1e2b0c, prev_kv:true}', () => {
    // 0a 03 "foo" | 12 03 "bar" | 18 <varint lease> | 20 01
    const wireBytes = hex('0a03666f6f1203626172188cd6f8d0f0fddda6692001');
    const c = messageCodec<PutRequest>('etcdserverpb.PutRequest');
    const put = c.decode(wireBytes);
    expect(put).toStrictEqual({
      key: Buffer.from('foo'), value: Buffer.from('bar'), lease: 7587852815739792140n,
      prevKv: true, ignoreValue: false, ignoreLease: false,
    });
    expect(c.encode(put)).toEqual(wireBytes);
  });

  it('MemberListResponse with uint64 ids above 2^63', () => {
    const wireBytes = hex(
      '0a1a08bef5fad7fcddefd6de011090e4d0b287d3aeeefe01182a2007' +
      '123f0890e4d0b287d3aeeefe0112026d311a15687474703a2f2f3132372e302e302e313a323338301a15687474703a2f2f3132372e302e302e313a323338312801',
    );
    const c = messageCodec<MemberListResponse>('etcdserverpb.MemberListResponse');
    const r = c.decode(wireBytes);
    expect(r.header).toStrictEqual({ clusterId: 16045690984503098046n, memberId: 18364758544493064720n, revision: 42n, raftTerm: 7n });
    expect(r.members).toStrictEqual([{
      ID: 18364758544493064720n, name: 'm1',
      peerURLs: ['http://127.0.0.1:2380', 'http://127.0.0.1:2381'], clientURLs: [], isLearner: true,
    }]);
    expect(c.encode(r)).toEqual(wireBytes);
  });

  it('Compare with an explicit zero oneof member and range_end = field 64', () => {
    // result EQUAL written explicitly (08 00), target MOD (10 02), key "a",
    // mod_revision 0 (30 00), range_end "b" (tag 64<<3|2 = 0x202 -> 82 04)
    const c = messageCodec<Compare>('etcdserverpb.Compare');
    const cmp = c.decode(hex('080010021a0161300082040162'));
    expect(cmp).toStrictEqual({ result: 0, target: 2, key: Buffer.from('a'), rangeEnd: Buffer.from('b'), modRevision: 0n });
    // Re-encoded the proto3 way (zero result omitted, oneof zero kept).
    expect(c.encode(cmp).toString('hex')).toBe('10021a0161300082040162');
  });

  it('WatchRequest.create_request with a packed filters list', () => {
    const r = messageCodec<WatchRequest>('etcdserverpb.WatchRequest').decode(hex('0a0c0a016b18642a010130013805'));
    expect(r).toStrictEqual({
      createRequest: {
        key: Buffer.from('k'), rangeEnd: Buffer.alloc(0), startRevision: 100n, progressNotify: false,
        filters: [1], prevKv: true, watchId: 5n, fragment: false,
      },
    });
  });

  it('WatchCreateRequest.filters also accepted unpacked', () => {
    const r = messageCodec('etcdserverpb.WatchCreateRequest').decode(hex('28012800'));
    expect(r.filters).toEqual([1, 0]);
  });

  it('negative int64 is a 10-byte varint, as Go writes it', () => {
    const c = messageCodec('etcdserverpb.LeaseGrantRequest');
    const wireBytes = hex('08ffffffffffffffffff0110ffffffffffffffff7f');
    expect(c.decode(wireBytes)).toStrictEqual({ TTL: -1n, ID: 9223372036854775807n });
    expect(c.encode({ TTL: -1, ID: 9223372036854775807n })).toEqual(wireBytes);
  });

  it('skips unknown fields (newer clients) and rejects truncated input', () => {
    const c = messageCodec<PutRequest>('etcdserverpb.PutRequest');
    // field 99 varint, field 98 bytes, field 97 fixed32, field 96 fixed64, then key
    const withUnknown = hex('989f06019207026869' + '8d0601020304' + '810601020304050607 08'.replace(/ /g, '') + '0a0161');
    expect(c.decode(withUnknown).key).toEqual(Buffer.from('a'));
    expect(() => c.decode(hex('0a05666f'))).toThrow(RangeError);
    expect(() => c.decode(hex('18ffff'))).toThrow(RangeError);
  });

  it('decoded bytes do not alias the input buffer', () => {
    const input = hex('0a03666f6f');
    const put = messageCodec<PutRequest>('etcdserverpb.PutRequest').decode(input);
    input[2] = 0x78;
    expect(put.key.toString()).toBe('foo');
  });
});
