// KeyValue <-> bytes in mvccpb.KeyValue protobuf layout (field 1 key, 2 create,
// 3 mod, 4 version, 5 value, 6 lease; zero fields omitted as proto3 does). Using
// the exact wire layout keeps the stored bytes identical to etcd's, so HashKV
// agrees with a real etcd member holding the same history.

import { readI64, readU32, readUint53, readView, skipField, varintSize as varintLen, writeVarint, type ByteCursor } from '../pb/wire.js';
import type { KeyValue } from './types.js';

const EMPTY = new Uint8Array(0);

// Leases are int64; negative values take 10 bytes as two's-complement uint64.
function leaseBytes(lease: bigint): Uint8Array {
  const out = new Uint8Array(varintLen(lease));
  writeVarint(out, 0, lease);
  return out;
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
  const c: ByteCursor = { buf, pos: 0 };
  const n = buf.length;
  try {
    while (c.pos < n) {
      const tag = readU32(c);
      switch (tag) {
        case 0x0a: kv.key = readView(c); continue;
        case 0x10: kv.createRevision = readUint53(c); continue;
        case 0x18: kv.modRevision = readUint53(c); continue;
        case 0x20: kv.version = readUint53(c); continue;
        case 0x2a: kv.value = readView(c); continue;
        case 0x30: kv.lease = readI64(c); continue;
      }
      const wire = tag & 7;
      if (wire !== 0 && wire !== 2) throw new Error(`mvcc: corrupt KeyValue record (wire type ${wire})`);
      skipField(c, wire);
    }
  } catch (err) {
    if (err instanceof RangeError) throw new Error(`mvcc: corrupt KeyValue record (${err.message})`);
    throw err;
  }
  return kv;
}
