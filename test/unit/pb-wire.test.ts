// The protobuf wire toolkit (src/pb/wire.ts, wire-messages.ts): edge values, seeded property
// tests, bounds checks, and byte-for-byte agreement with the other writers that
// produce the same wire format: src/raft's private writer (src/raft must not
// import the toolkit) and the compiled codecs (protobufjs Writer + writeLong).
import { describe, expect, it } from 'vitest';
import { messageCodec } from '../../src/pb/index.js';
import {
  lenFieldSize,
  readI64,
  readU32,
  readU64,
  readUint53,
  readView,
  skipField,
  varintSize,
  writeLenField,
  writeVarint,
  type ByteCursor,
} from '../../src/pb/wire.js';
import { WireReader, WireWriter } from '../../src/pb/wire-messages.js';
import { WireReader as RaftWireReader, WireWriter as RaftWireWriter } from '../../src/raft/wire.js';
import { decodeKeyValue, encodeKeyValue } from '../../src/mvcc/kv-codec.js';
import { decodeLeaseRecord, encodeLeaseRecord } from '../../src/lease/record.js';
import type { LeaseId } from '../../src/lease/types.js';

const TWO64 = 1n << 64n;

/** Reference encoder: the plain definition of a 64-bit varint. */
function refVarint(v: bigint): number[] {
  let x = v < 0n ? v + TWO64 : v;
  const out: number[] = [];
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x > 0n ? b | 0x80 : b);
  } while (x > 0n);
  return out;
}

function varintBytes(v: number | bigint): number[] {
  const buf = new Uint8Array(varintSize(v));
  const end = writeVarint(buf, 0, v);
  expect(end).toBe(buf.length);
  return [...buf];
}

const EDGE: bigint[] = [
  0n, 1n, 127n, 128n, 255n, 16383n, 16384n, (1n << 21n) - 1n, 1n << 21n, (1n << 28n) - 1n, 1n << 28n,
  (1n << 31n) - 1n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, (1n << 35n) - 1n, 1n << 35n, 1n << 49n,
  (1n << 53n) - 1n, 1n << 53n, (1n << 56n) - 1n, 1n << 56n, (1n << 63n) - 1n, 1n << 63n, TWO64 - 1n,
  -1n, -2n, -127n, -128n, -(1n << 31n), -(1n << 53n), -(1n << 63n),
];
/** The values the brief names; the raft writer and the toolkit must agree on each. */
const AGREEMENT: bigint[] = [0n, 127n, 128n, (1n << 53n) - 1n, (1n << 63n) - 1n, -1n, TWO64 - 1n];

const SAFE = (v: bigint) => v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER);

/** xorshift32, seeded: the same sequence on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

/** A random 64-bit value with a random bit length, so every varint size shows up. */
function randomU64(next: () => number): bigint {
  const bits = BigInt(next() % 65);
  const raw = (BigInt(next()) << 32n) | BigInt(next());
  return bits === 0n ? 0n : raw & ((1n << bits) - 1n);
}

describe('varints', () => {
  it('writes every edge value as the reference does, as bigint and (when safe) as number', () => {
    for (const v of EDGE) {
      expect(varintBytes(v), `${v}n`).toEqual(refVarint(v));
      if (SAFE(v)) expect(varintBytes(Number(v)), `${v}`).toEqual(refVarint(v));
    }
  });

  it('writes negative numbers as int64 (10-byte two\'s complement)', () => {
    expect(varintBytes(-1)).toEqual(refVarint(-1n));
    expect(varintBytes(-1).length).toBe(10);
    expect(varintBytes(-(2 ** 40))).toEqual(refVarint(-(1n << 40n)));
  });

  it('refuses values that do not fit in 64 bits instead of wrapping them', () => {
    expect(() => varintSize(TWO64)).toThrow(RangeError);
    expect(() => writeVarint(new Uint8Array(16), 0, TWO64)).toThrow(RangeError);
    expect(() => writeVarint(new Uint8Array(16), 0, -(1n << 63n) - 1n)).toThrow(RangeError);
    expect(() => varintSize(2 ** 64)).toThrow(RangeError);
    expect(() => varintSize(Number.NaN)).toThrow(RangeError);
  });

  it('reads every edge value back (uint64, int64, and below 2^53 as number)', () => {
    for (const v of EDGE) {
      const bytes = Uint8Array.from(refVarint(v));
      const u = v < 0n ? v + TWO64 : v;
      const c = (): ByteCursor => ({ buf: bytes, pos: 0 });
      expect(readU64(c()), `${v}`).toBe(u);
      expect(readI64(c()), `${v}`).toBe(BigInt.asIntN(64, u));
      if (SAFE(v)) expect(readUint53(c()), `${v}`).toBe(Number(v));
      else expect(() => readUint53(c()), `${v}`).toThrow(RangeError);
      const r = c();
      readU64(r);
      expect(r.pos).toBe(bytes.length);
    }
  });

  it('round-trips 5 000 seeded random values through every reader', () => {
    const next = rng(0x5eed);
    for (let i = 0; i < 5_000; i++) {
      let v = randomU64(next);
      if (next() % 4 === 0) v = BigInt.asIntN(64, v); // some negatives
      const bytes = Uint8Array.from(varintBytes(v));
      expect([...bytes]).toEqual(refVarint(v));
      const u = BigInt.asUintN(64, v);
      expect(readU64({ buf: bytes, pos: 0 })).toBe(u);
      expect(readI64({ buf: bytes, pos: 0 })).toBe(BigInt.asIntN(64, v));
      expect(readU32({ buf: bytes, pos: 0 })).toBe(Number(u & 0xffffffffn));
      if (SAFE(v)) {
        expect(varintBytes(Number(v))).toEqual([...bytes]);
        expect(readUint53({ buf: bytes, pos: 0 })).toBe(Number(v));
      }
    }
  });

  it('throws RangeError on truncated, overlong or oversized input', () => {
    const truncated = [new Uint8Array([]), new Uint8Array([0x80]), new Uint8Array([0xff, 0xff, 0xff])];
    for (const buf of truncated) {
      for (const read of [readU32, readU64, readI64, readUint53]) {
        expect(() => read({ buf, pos: 0 }), `${read.name} [${[...buf]}]`).toThrow(RangeError);
      }
    }
    const overlong = new Uint8Array(11).fill(0x80);
    overlong[10] = 0;
    expect(() => readU64({ buf: overlong, pos: 0 })).toThrow(RangeError);
    expect(() => readU32({ buf: overlong, pos: 0 })).toThrow(RangeError);
    // A length running past the end.
    expect(() => readView({ buf: new Uint8Array([5, 1, 2]), pos: 0 })).toThrow(RangeError);
    // Fixed-width fields running past the end.
    expect(() => skipField({ buf: new Uint8Array([1, 2, 3]), pos: 0 }, 1)).toThrow(RangeError);
    expect(() => skipField({ buf: new Uint8Array([1, 2, 3]), pos: 0 }, 5)).toThrow(RangeError);
    expect(() => skipField({ buf: new Uint8Array([0]), pos: 0 }, 7)).toThrow(RangeError);
  });
});

describe('length-delimited fields', () => {
  it('sizes and writes tag + length + body', () => {
    for (const [field, len] of [[1, 0], [1, 127], [1, 128], [15, 300], [16, 20_000], [2047, 5]] as const) {
      const body = new Uint8Array(len).fill(7);
      const buf = new Uint8Array(lenFieldSize(field, len));
      expect(writeLenField(buf, 0, field, body)).toBe(buf.length);
      const r = new WireReader(buf);
      expect(r.tag()).toEqual([field, 2]);
      expect(r.bytes()).toEqual(body);
      expect(r.done()).toBe(true);
    }
  });
});

describe('WireWriter / WireReader', () => {
  it('round-trips a seeded random mix of fields', () => {
    const next = rng(42);
    for (let i = 0; i < 2_000; i++) {
      const w = new WireWriter(4);
      const want: [number, string, unknown][] = [];
      const n = next() % 8;
      for (let j = 0; j < n; j++) {
        const field = 1 + (next() % 300);
        switch (next() % 4) {
          case 0: { const v = next() * 2 ** 20 + (next() % 2 ** 20); w.uint(field, v); if (v !== 0) want.push([field, 'uint', v]); break; }
          case 1: { const v = randomU64(next); w.uint64(field, v); if (v !== 0n) want.push([field, 'uint64', v]); break; }
          case 2: { const v = BigInt.asIntN(64, randomU64(next)); w.int64(field, v); if (v !== 0n) want.push([field, 'int64', v]); break; }
          default: { const v = new Uint8Array(next() % 200).fill(field & 0xff); w.bytes(field, v, true); want.push([field, 'bytes', v]); }
        }
      }
      const r = new WireReader(w.finish());
      for (const [field, kind, v] of want) {
        const [f, wt] = r.tag();
        expect(f).toBe(field);
        expect(wt).toBe(kind === 'bytes' ? 2 : 0);
        const got = kind === 'uint' ? r.varint() : kind === 'uint64' ? r.bigVarint() : kind === 'int64' ? r.int64() : r.bytes();
        expect(got).toEqual(v);
      }
      expect(r.done()).toBe(true);
    }
  });

  it('leaves proto3 defaults out and refuses what does not fit', () => {
    expect(new WireWriter().uint(1, 0).uint64(2, 0n).int64(3, 0).bool(4, false).bytes(5, new Uint8Array(0)).finish()).toEqual(new Uint8Array(0));
    expect(() => new WireWriter().uint(1, -1)).toThrow(RangeError);
    expect(() => new WireWriter().uint(1, 2 ** 53)).toThrow(RangeError);
    expect(() => new WireWriter().int64(1, 1n << 63n)).toThrow(RangeError);
    expect(() => new WireWriter().uint64(1, TWO64)).toThrow(RangeError);
  });

  it('skips unknown fields and refuses groups and truncation', () => {
    const b = new WireWriter().uint(1, 5).bytes(2, Uint8Array.of(1, 2, 3)).uint64(3, TWO64 - 1n).finish();
    const r = new WireReader(b);
    while (!r.done()) r.skip(r.tag()[1]);
    expect(() => new WireReader(Uint8Array.of(0x0b)).skip(3)).toThrow(RangeError);
    const t = new WireReader(b.subarray(0, b.length - 1));
    expect(() => { while (!t.done()) t.skip(t.tag()[1]); }).toThrow(RangeError);
  });
});

describe('agreement with the other writers of the same wire format', () => {
  it('src/raft\'s private writer writes the same bytes as the toolkit', () => {
    for (const v of AGREEMENT) {
      const field = 3;
      // uint64 fields (ids): bigint on both sides.
      expect(new RaftWireWriter().uint64(field, v).finish(), `uint64 ${v}`).toEqual(new WireWriter().uint64(field, v).finish());
      // uint fields (terms, indexes): numbers below 2^53.
      if (SAFE(v)) {
        expect(new RaftWireWriter().uint(field, Number(v)).finish(), `uint ${v}`).toEqual(new WireWriter().uint(field, Number(v)).finish());
      }
      // Length-delimited, with the value's bytes as the body.
      const body = Uint8Array.from(refVarint(v));
      expect(new RaftWireWriter().bytes(field, body, true).finish()).toEqual(new WireWriter().bytes(field, body, true).finish());
      // And each reads what the other wrote.
      const fromToolkit = new RaftWireReader(new WireWriter().uint64(field, v).finish());
      if (v !== 0n) {
        expect(fromToolkit.tag()).toEqual([field, 0]);
        expect(fromToolkit.bigVarint()).toBe(BigInt.asUintN(64, v));
        const fromRaft = new WireReader(new RaftWireWriter().uint64(field, v).finish());
        expect(fromRaft.tag()).toEqual([field, 0]);
        expect(fromRaft.bigVarint()).toBe(BigInt.asUintN(64, v));
      }
    }
  });

  it('the compiled codecs (protobufjs Writer + writeLong) write the same bytes as the toolkit', () => {
    // ResponseHeader.cluster_id is uint64 (field 1); LeaseGrantRequest.ID is int64 (field 2).
    const header = messageCodec('etcdserverpb.ResponseHeader');
    const grant = messageCodec('etcdserverpb.LeaseGrantRequest');
    for (const v of AGREEMENT) {
      expect([...header.encode({ clusterId: v })], `uint64 ${v}`).toEqual([...new WireWriter().uint64(1, v).finish()]);
      if (v < 1n << 63n) {
        expect([...grant.encode({ ID: v })], `int64 ${v}`).toEqual([...new WireWriter().int64(2, v).finish()]);
        expect(grant.decode(new WireWriter().int64(2, v).finish()).ID).toBe(v);
      }
      if (SAFE(v)) expect([...header.encode({ clusterId: Number(v) })]).toEqual([...new WireWriter().uint64(1, v).finish()]);
    }
  });
});

describe('users of the toolkit', () => {
  it('mvcc KeyValue: edge leases round-trip; a corrupt record is an error, not garbage', () => {
    for (const lease of [0n, 1n, -1n, (1n << 63n) - 1n, -(1n << 63n)]) {
      const kv = { key: Uint8Array.of(1, 2), createRevision: 2 ** 53 - 1, modRevision: 128, version: 1, value: Uint8Array.of(9), lease };
      expect(decodeKeyValue(encodeKeyValue(kv))).toEqual(kv);
    }
    const good = encodeKeyValue({ key: Uint8Array.of(1), createRevision: 300, modRevision: 300, version: 1, value: new Uint8Array(200), lease: 5n });
    expect(() => decodeKeyValue(good.subarray(0, good.length - 3))).toThrow(/corrupt KeyValue/);
    expect(() => decodeKeyValue(Uint8Array.of(0x0d, 0, 0, 0, 0))).toThrow(/corrupt KeyValue/);
  });

  it('lease records: int64 ids and TTLs round-trip', () => {
    for (const id of [1n, (1n << 63n) - 1n, -1n]) {
      const rec = { id: id as LeaseId, ttl: 9_000_000_000, remainingTtl: 1 };
      expect(decodeLeaseRecord(encodeLeaseRecord(rec))).toEqual(rec);
    }
  });
});
