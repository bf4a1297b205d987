// KeyValue <-> bytes in mvccpb.KeyValue protobuf layout (field 1 key, 2 create,
// 3 mod, 4 version, 5 value, 6 lease; zero fields omitted as proto3 does). Using
// the exact wire layout keeps the stored bytes identical to etcd's, so HashKV
// agrees with a real etcd member holding the same history.

import type { KeyValue } from './types.js';

const EMPTY = new Uint8Array(0);

function varintLen(n: number): number {
  let len = 1;
  while (n >= 128) { n = Math.floor(n / 128); len++; }
  return len;
}

function writeVarint(buf: Uint8Array, off: number, n: number): number {
  while (n >= 128) {
    buf[off++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}

// Leases are int64; negative values take 10 bytes as two's-complement uint64.
function leaseBytes(lease: bigint): Uint8Array {
  let v = BigInt.asUintN(64, lease);
  const out: number[] = [];
  while (v >= 128n) { out.push(Number(v & 127n) | 0x80); v >>= 7n; }
  out.push(Number(v));
  return Uint8Array.from(out);
}

export function encodeKeyValue(kv: KeyValue): Uint8Array {
  const lb = kv.lease !== 0n ? leaseBytes(kv.lease) : undefined;
  const buf = new Uint8Array(encodedSize(kv, lb));
  encodeInto(kv, lb, buf, 0);
  return buf;
}

export function encodedLeaseBytes(kv: KeyValue): Uint8Array | undefined {
  return kv.lease !== 0n ? leaseBytes(kv.lease) : undefined;
}

export function encodedSize(kv: KeyValue, lb: Uint8Array | undefined): number {
  const kl = kv.key.length, vl = kv.value.length;
  let size = 0;
  if (kl) size += 1 + varintLen(kl) + kl;
  if (kv.createRevision) size += 1 + varintLen(kv.createRevision);
  if (kv.modRevision) size += 1 + varintLen(kv.modRevision);
  if (kv.version) size += 1 + varintLen(kv.version);
  if (vl) size += 1 + varintLen(vl) + vl;
  if (lb) size += 1 + lb.length;
  return size;
}

/**
 * Writes kv at buf[o…] (the caller sized it with encodedSize); returns the end
 * offset. Lets a flush encode a whole batch into one slab instead of thousands
 * of small off-heap buffers.
 */
export function encodeInto(kv: KeyValue, lb: Uint8Array | undefined, buf: Uint8Array, o: number): number {
  const kl = kv.key.length, vl = kv.value.length;
  if (kl) { buf[o++] = 0x0a; o = writeVarint(buf, o, kl); buf.set(kv.key, o); o += kl; }
  if (kv.createRevision) { buf[o++] = 0x10; o = writeVarint(buf, o, kv.createRevision); }
  if (kv.modRevision) { buf[o++] = 0x18; o = writeVarint(buf, o, kv.modRevision); }
  if (kv.version) { buf[o++] = 0x20; o = writeVarint(buf, o, kv.version); }
  if (vl) { buf[o++] = 0x2a; o = writeVarint(buf, o, vl); buf.set(kv.value, o); o += vl; }
  if (lb) { buf[o++] = 0x30; buf.set(lb, o); o += lb.length; }
  return o;
}

export function decodeKeyValue(buf: Uint8Array): KeyValue {
  const kv: KeyValue = { key: EMPTY, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n };
  let o = 0;
  const n = buf.length;
  while (o < n) {
    const tag = buf[o++]!;
    const field = tag >>> 3, wire = tag & 7;
    if (wire === 0) {
      if (field === 6) {
        let v = 0n, shift = 0n, b: number;
        do { b = buf[o++]!; v |= BigInt(b & 127) << shift; shift += 7n; } while (b & 0x80);
        kv.lease = BigInt.asIntN(64, v);
        continue;
      }
      let v = 0, mul = 1, b: number;
      do { b = buf[o++]!; v += (b & 127) * mul; mul *= 128; } while (b & 0x80);
      if (field === 2) kv.createRevision = v;
      else if (field === 3) kv.modRevision = v;
      else if (field === 4) kv.version = v;
    } else if (wire === 2) {
      let len = 0, mul = 1, b: number;
      do { b = buf[o++]!; len += (b & 127) * mul; mul *= 128; } while (b & 0x80);
      const bytes = buf.subarray(o, o + len);
      o += len;
      if (field === 1) kv.key = bytes;
      else if (field === 5) kv.value = bytes;
    } else {
      throw new Error(`mvcc: corrupt KeyValue record (wire type ${wire})`);
    }
  }
  return kv;
}
