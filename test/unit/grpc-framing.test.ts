// The client port's gRPC server, its pure parts: message framing across DATA
// frames, grpc-message encoding and status trailers, grpc-timeout parsing,
// and grpc-go's ping policy.
import { describe, expect, it } from 'vitest';
import { parseGrpcTimeout } from '../../src/server/grpc/deadline.js';
import { frameMessage, MessageDecoder } from '../../src/server/grpc/framing.js';
import { PingPolicy } from '../../src/server/grpc/ping-policy.js';
import { encodeGrpcMessage, Status, statusTrailers } from '../../src/server/grpc/status.js';
import { decodeGrpcMessage } from '../e2e/helpers/raw-grpc.js';

const msg = (n: number, fill = 0x61): Buffer => Buffer.alloc(n, fill);

/** Feeds `chunks` to a fresh decoder; the messages (copied) and the error, if any. */
function decode(chunks: Buffer[], max = 1 << 20): { messages: Buffer[]; error?: { code: number; details: string } } {
  const d = new MessageDecoder(max);
  const messages: Buffer[] = [];
  for (const c of chunks) {
    const error = d.push(c, { onMessage: (m) => messages.push(Buffer.from(m)) });
    if (error) return { messages, error };
  }
  return { messages };
}

describe('gRPC message framing', () => {
  it('frames a message behind flag 0 and its big-endian length', () => {
    expect(frameMessage(Buffer.from('abc'))).toEqual(Buffer.from([0, 0, 0, 0, 3, 0x61, 0x62, 0x63]));
    expect(frameMessage(Buffer.alloc(0))).toEqual(Buffer.from([0, 0, 0, 0, 0]));
  });

  it('one message in one DATA frame comes out as a view of it, not a copy', () => {
    const chunk = frameMessage(msg(10));
    const seen: Buffer[] = [];
    expect(new MessageDecoder(100).push(chunk, { onMessage: (m) => seen.push(m) })).toBeUndefined();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual(msg(10));
    chunk.fill(0);
    expect(seen[0]).toEqual(Buffer.alloc(10)); // the same memory
  });

  it('several messages merged in one frame, empty ones included', () => {
    const all = Buffer.concat([frameMessage(msg(3, 1)), frameMessage(msg(0)), frameMessage(msg(7, 2))]);
    expect(decode([all]).messages).toEqual([msg(3, 1), msg(0), msg(7, 2)]);
  });

  it('messages split at every byte boundary, and byte by byte', () => {
    const stream = Buffer.concat([frameMessage(msg(9, 1)), frameMessage(msg(0)), frameMessage(msg(300, 2)), frameMessage(msg(1, 3))]);
    const want = [msg(9, 1), msg(0), msg(300, 2), msg(1, 3)];
    for (let cut = 1; cut < stream.length; cut++) {
      expect(decode([stream.subarray(0, cut), stream.subarray(cut)]).messages).toEqual(want);
    }
    expect(decode([...stream].map((b) => Buffer.from([b]))).messages).toEqual(want);
  });

  it('three-way splits inside the prefix and the body', () => {
    const f = frameMessage(msg(20, 7));
    for (let a = 1; a < f.length - 1; a++) {
      for (let b = a + 1; b < f.length; b++) {
        expect(decode([f.subarray(0, a), f.subarray(a, b), f.subarray(b)]).messages).toEqual([msg(20, 7)]);
      }
    }
  });

  it("an oversize message is refused with grpc-go's text as soon as its length is known", () => {
    const big = frameMessage(msg(101));
    expect(decode([big.subarray(0, 5)], 100).error).toEqual({
      code: Status.RESOURCE_EXHAUSTED, details: 'grpc: received message larger than max (101 vs. 100)',
    });
    // the limit itself passes; a prefix cut in two is checked too
    expect(decode([frameMessage(msg(100))], 100).messages).toHaveLength(1);
    expect(decode([big.subarray(0, 2), big.subarray(2, 5)], 100).error?.code).toBe(Status.RESOURCE_EXHAUSTED);
    // a length beyond any buffer never allocates
    const huge = Buffer.from([0, 0xff, 0xff, 0xff, 0xff]);
    expect(decode([huge], 100).error?.details).toBe('grpc: received message larger than max (4294967295 vs. 100)');
  });

  it('a compressed flag (we accept no compression) and an unknown flag are refused as grpc-go does', () => {
    const compressed = frameMessage(msg(3));
    compressed[0] = 1;
    expect(decode([compressed]).error).toEqual({ code: Status.INTERNAL, details: 'grpc: compressed flag set with identity or empty encoding' });
    const odd = frameMessage(msg(3));
    odd[0] = 2;
    expect(decode([odd]).error).toEqual({ code: Status.INTERNAL, details: 'grpc: received unexpected payload format 2' });
  });

  it('after an error, the decoder ignores the rest', () => {
    const d = new MessageDecoder(4);
    const seen: Buffer[] = [];
    expect(d.push(frameMessage(msg(5)), { onMessage: (m) => seen.push(m) })).toBeDefined();
    expect(d.push(frameMessage(msg(1)), { onMessage: (m) => seen.push(m) })).toBeUndefined();
    expect(seen).toEqual([]);
  });

  it('a message held across frames does not keep the frames (it is copied once)', () => {
    const f = frameMessage(msg(50, 9));
    const first = Buffer.from(f.subarray(0, 20));
    const seen: Buffer[] = [];
    const d = new MessageDecoder(100);
    d.push(first, { onMessage: (m) => seen.push(m) });
    expect(d.idle).toBe(false);
    const second = Buffer.from(f.subarray(20));
    d.push(second, { onMessage: (m) => seen.push(m) });
    expect(d.idle).toBe(true);
    first.fill(0);
    second.fill(0);
    expect(seen[0]).toEqual(msg(50, 9));
  });
});

describe('grpc-message and status trailers', () => {
  it('percent-encodes what the gRPC spec says: non-printable ASCII, non-ASCII (as UTF-8) and %', () => {
    expect(encodeGrpcMessage('etcdserver: key is not provided')).toBe('etcdserver: key is not provided');
    expect(encodeGrpcMessage('100% done')).toBe('100%25 done');
    expect(encodeGrpcMessage('a\nb\tc')).toBe('a%0Ab%09c');
    expect(encodeGrpcMessage('clé ✓')).toBe('cl%C3%A9 %E2%9C%93');
    expect(encodeGrpcMessage('~ !"#$&\'()*+,/:;<=>?@[\\]^_`{|}')).toBe('~ !"#$&\'()*+,/:;<=>?@[\\]^_`{|}');
    for (const s of ['', 'plain', '100%', 'a\r\nb', 'ünï©ødé', '%41']) expect(decodeGrpcMessage(encodeGrpcMessage(s))).toBe(s);
  });

  it('trailers: grpc-status always, grpc-message when there is one, extra fields after', () => {
    expect(statusTrailers({ code: 0, details: '' })).toEqual({ 'grpc-status': '0' });
    expect(statusTrailers({ code: Status.UNAVAILABLE, details: 'etcdserver: no leader' }))
      .toEqual({ 'grpc-status': '14', 'grpc-message': 'etcdserver: no leader' });
    expect(statusTrailers({ code: 3, details: 'x%', trailers: { 'x-extra': 'y' } }))
      .toEqual({ 'grpc-status': '3', 'grpc-message': 'x%25', 'x-extra': 'y' });
  });
});

describe('grpc-timeout', () => {
  it('every unit', () => {
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('4S')).toBe(4_000);
    expect(parseGrpcTimeout('5m')).toBe(5);
    expect(parseGrpcTimeout('1500u')).toBeCloseTo(1.5);
    expect(parseGrpcTimeout('2500000n')).toBeCloseTo(2.5);
    expect(parseGrpcTimeout('0m')).toBe(0);
    expect(parseGrpcTimeout('99999999H')).toBe(99_999_999 * 3_600_000); // 8 digits: the most allowed
  });

  it('malformed values', () => {
    for (const v of ['', 'S', '5', '123456789S', '5s', '5x', '-5S', '5.5S', ' 5S', '5S ', '0x5S', '５S']) {
      expect(parseGrpcTimeout(v), v).toBeUndefined();
    }
  });
});

describe("grpc-go's ping policy (--grpc-keepalive-min-time)", () => {
  it('pings at least min-time apart with a call open are fine; the third strike sends the client away', () => {
    const p = new PingPolicy(5_000);
    expect([0, 5_000, 10_000, 15_000, 20_000].map((t) => p.onPing(1, t))).toEqual([false, false, false, false, false]);
    const q = new PingPolicy(5_000);
    // as etcd did when probed: pings 1–3 after the first are strikes 1–3; the fourth quick one goes away
    expect([0, 10, 20, 30].map((t) => q.onPing(1, t))).toEqual([false, false, false, true]);
  });

  it('without a call open, pings closer than two hours are strikes (PermitWithoutStream is false in etcd)', () => {
    const p = new PingPolicy(5_000);
    expect([0, 60_000, 120_000, 180_000].map((t) => p.onPing(0, t))).toEqual([false, false, false, true]);
    const permissive = new PingPolicy(5_000, true);
    expect([0, 60_000, 120_000, 180_000].map((t) => permissive.onPing(0, t))).toEqual([false, false, false, false]);
  });

  it('data sent since the last ping resets the count (BDP pings follow our data)', () => {
    const p = new PingPolicy(5_000);
    expect(p.onPing(1, 0)).toBe(false);
    expect(p.onPing(1, 1)).toBe(false); // strike 1
    expect(p.onPing(1, 2)).toBe(false); // strike 2
    p.sentData();
    expect(p.onPing(1, 3)).toBe(false); // reset, not a strike
    expect(p.onPing(1, 4)).toBe(false); // strike 1
    expect(p.onPing(1, 5)).toBe(false); // strike 2
    expect(p.onPing(1, 6)).toBe(true);
  });
});
