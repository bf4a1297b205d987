// The project's one protobuf wire toolkit, used by every layer but src/raft
// (which keeps a private minimal writer, src/raft/wire.ts, to stay free of
// imports; test/unit/pb-wire.test.ts checks that both write the same bytes).
//
// 64-bit integers, everywhere:
//   - number: an integer; 0 ≤ v < 2^53 takes the fast path, negative values are
//     int64 (10-byte two's complement, as Go writes them).
//   - bigint: -2^63 ≤ v < 2^64; negative values are int64 (10-byte two's
//     complement), the rest uint64. Anything outside is a RangeError, never wrapped.
//
// Sections:
//   - Cursor readers (readU32, readU64, readI64, readUint53, readBytes, readView,
//     readString, skipField): fast, bounds-checked, used by the compiled codecs
//     (compile.ts) and by hand-written decoders on hot paths (mvcc KeyValue).
//   - Raw writers into a caller-sized buffer (varintSize, writeVarint, tagSize,
//     writeTag, lenFieldSize, writeLenField): for encoders that size a message
//     first and write it in one allocation (mvcc KeyValue, watch fan-out, peer batches).
//   - WireWriter / WireReader (wire-messages.ts, built on these): a convenient
//     builder and reader for small messages (lease records, WAL metadata,
//     snapshot chunks, the Raft log payload header).
//   - writeLong: 64-bit values into a protobufjs Writer (the compiled encoders).
//
// Reading is our own (a cursor over a Buffer) so that 64-bit varints come out as
// bigint directly and bytes fields come out as Buffers without a conversion pass.
// The compiled encoders reuse protobufjs's Writer, which is already fast; we only
// feed its 64-bit methods with {low, high} pairs.

import protobuf from 'protobufjs';

/** Read cursor. `buf` is always a Buffer (we wrap plain Uint8Arrays). */
export interface Cursor {
  buf: Buffer;
  pos: number;
}

/**
 * A cursor over any Uint8Array: enough for the readers that only index the bytes
 * (varints, views, skipping). Every Cursor is one.
 */
export interface ByteCursor {
  buf: Uint8Array;
  pos: number;
}

/** Wire types. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** Shared zero-length Buffer for absent bytes fields (nothing to mutate in it). */
export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Throws the RangeError every reader uses for truncated or malformed input. */
export function malformed(what: string): never {
  throw new RangeError(`protobuf: malformed ${what}`);
}

/**
 * Varint truncated to its low 32 bits, as unsigned. Used for tags, lengths,
 * uint32, and (with `| 0`) int32/enum, whose negative values are 10 bytes long.
 */
export function readU32(c: ByteCursor): number {
  const b = c.buf;
  let p = c.pos;
  let x = b[p++];
  if (x < 0x80) { c.pos = p; return x; }
  let v = x & 0x7f;
  x = b[p++]; v |= (x & 0x7f) << 7;
  if (x < 0x80) { c.pos = p; return v; }
  x = b[p++]; v |= (x & 0x7f) << 14;
  if (x < 0x80) { c.pos = p; return v; }
  x = b[p++]; v |= (x & 0x7f) << 21;
  if (x < 0x80) { c.pos = p; return v; }
  x = b[p++]; v = (v | ((x & 0x0f) << 28)) >>> 0;
  // Bytes 6..10 only carry bits above 32: skip them.
  for (let i = 0; x >= 0x80; i++) {
    if (i === 5) malformed('varint');
    x = b[p++];
  }
  if (p > b.length) malformed('varint (truncated)');
  c.pos = p;
  return v;
}

/**
 * Unsigned 64-bit varint as bigint. Values below 2^28 (nearly every revision,
 * version and count) are read as a small integer first: BigInt() of a small
 * integer is much cheaper than building the bigint piecewise.
 */
export function readU64(c: ByteCursor): bigint {
  const b = c.buf;
  let p = c.pos;
  let x = b[p++];
  if (x < 0x80) { c.pos = p; return BigInt(x); }
  let v = x & 0x7f;
  x = b[p++]; v |= (x & 0x7f) << 7;
  if (x < 0x80) { c.pos = p; return BigInt(v); }
  x = b[p++]; v |= (x & 0x7f) << 14;
  if (x < 0x80) { c.pos = p; return BigInt(v); }
  x = b[p++]; v |= (x & 0x7f) << 21;
  if (x < 0x80) { c.pos = p; return BigInt(v); }
  return readU64Slow(c);
}

// Scratch for assembling a 64-bit value from two 32-bit halves: one bigint
// allocation per value, instead of one per shift and OR (request ids, member
// and cluster ids, and leases are full 64-bit values, read on every request).
const scratch64 = new DataView(new ArrayBuffer(8));
const TWO28 = 2 ** 28;
const TWO36 = 2 ** 36;

function readU64Slow(c: ByteCursor): bigint {
  const b = c.buf;
  let p = c.pos;
  // Bits 0..27 from the first four bytes, the rest (up to 42 more bits, of which
  // the value keeps 36) as a second number: both exact in a double.
  let lo = 0;
  for (let i = 0; i < 4; i++) lo += (b[p++]! & 0x7f) * 2 ** (7 * i);
  let hi = 0;
  let mul = 1;
  for (let i = 4; i < 10; i++) {
    const x = b[p++];
    if (x === undefined) break;
    hi += (x & 0x7f) * mul;
    if (x < 0x80) {
      c.pos = p;
      hi %= TWO36; // asUintN(64): bits past 63 are dropped
      if (hi < 2 ** 25) return BigInt(hi * TWO28 + lo); // below 2^53
      scratch64.setUint32(0, (lo + (hi % 16) * TWO28) >>> 0, true);
      scratch64.setUint32(4, Math.floor(hi / 16) >>> 0, true);
      return scratch64.getBigUint64(0, true);
    }
    mul *= 128;
  }
  if (p > b.length) malformed('varint (truncated)');
  return malformed('varint');
}

/** Signed 64-bit (int64; negative values are 10-byte two's complement). */
export function readI64(c: ByteCursor): bigint {
  return BigInt.asIntN(64, readU64(c));
}

/**
 * Unsigned varint as a number, for fields that hold values below 2^53
 * (revisions, versions, terms, indexes, lengths). A larger value (or a negative
 * int64) is malformed here rather than silently rounded.
 */
export function readUint53(c: ByteCursor): number {
  const b = c.buf;
  let p = c.pos;
  let x = b[p++]!;
  if (x < 0x80) { c.pos = p; return x; }
  let v = x & 0x7f;
  let mul = 0x80;
  // 8 bytes carry 56 bits; a value below 2^53 never needs more.
  for (let i = 1; i < 8; i++) {
    x = b[p++]!;
    if (x === undefined) malformed('varint (truncated)');
    v += (x & 0x7f) * mul;
    if (x < 0x80) {
      if (v > Number.MAX_SAFE_INTEGER) break;
      c.pos = p;
      return v;
    }
    mul *= 0x80;
  }
  return malformed('varint (above 2^53)');
}

/** Length-delimited bytes as a view into the input (no copy; the caller decides). */
export function readView(c: ByteCursor): Uint8Array {
  const len = readU32(c);
  const start = c.pos;
  const end = start + len;
  if (end > c.buf.length) malformed('length');
  c.pos = end;
  return c.buf.subarray(start, end);
}

/** Length-delimited bytes, copied: decoded objects must not pin the input. */
export function readBytes(c: Cursor): Buffer {
  const len = readU32(c);
  const start = c.pos;
  const end = start + len;
  if (end > c.buf.length) malformed('length');
  c.pos = end;
  if (len === 0) return EMPTY_BYTES;
  // Copy (never a view): a key kept in an index must not pin the whole request
  // or log buffer it came from. Short fields copy fastest byte by byte.
  const out = Buffer.allocUnsafe(len);
  if (len <= 64) {
    const src = c.buf;
    for (let i = 0; i < len; i++) out[i] = src[start + i];
  } else {
    c.buf.copy(out, 0, start, end);
  }
  return out;
}

export function readString(c: Cursor): string {
  const len = readU32(c);
  const start = c.pos;
  const end = start + len;
  if (end > c.buf.length) malformed('length');
  c.pos = end;
  return c.buf.toString('utf8', start, end);
}

/** Skips a field of the given wire type (unknown fields are dropped). */
export function skipField(c: ByteCursor, wireType: number, depth = 0): void {
  switch (wireType) {
    case 0:
      while (c.buf[c.pos++] >= 0x80) { /* varint */ }
      break;
    case 1:
      c.pos += 8;
      break;
    case 2: {
      const len = readU32(c);
      c.pos += len;
      break;
    }
    case 3: // group: skip until the matching end-group tag
      if (depth > 64) malformed('group nesting');
      for (;;) {
        const t = readU32(c);
        if ((t & 7) === 4) break;
        skipField(c, t & 7, depth + 1);
        if (c.pos > c.buf.length) break;
      }
      break;
    case 5:
      c.pos += 4;
      break;
    default:
      malformed(`wire type ${wireType}`);
  }
  if (c.pos > c.buf.length) malformed('field (truncated)');
}

type Writer = protobuf.Writer;

/**
 * Writes an int64/uint64 given as bigint or number (negative values become
 * 10-byte two's complement varints, as in Go).
 */
export function writeLong(w: Writer, v: bigint | number): void {
  if (typeof v === 'number') {
    w.uint64(v);
  } else if (v >= -0x1fffffffffffffn && v <= 0x1fffffffffffffn) {
    w.uint64(Number(v));
  } else {
    // The two 32-bit halves through the scratch view: no intermediate bigints.
    scratch64.setBigUint64(0, v, true); // taken modulo 2^64: int64 negatives as two's complement
    w.uint64({ low: scratch64.getUint32(0, true) | 0, high: scratch64.getUint32(4, true) | 0, unsigned: false } as unknown as number);
  }
}

/** Thrown by generated decoders on a length/field mismatch. */
export function bad(): never {
  return malformed('message (length mismatch or field number 0)');
}

// ------------------------------------------------------------------ raw writers

const TWO53 = 2 ** 53;
const TWO53N = 1n << 53n;
const MIN_I64 = -(1n << 63n);
const MAX_U64 = (1n << 64n) - 1n;


/**
 * Bytes of the varint of v (see the 64-bit rules at the top). Small bigints
 * (ids, revisions, terms below 2^53) take the number path: much cheaper than
 * bigint arithmetic.
 */
export function varintSize(v: number | bigint): number {
  if (typeof v === 'bigint' && v >= 0n && v < TWO53N) v = Number(v);
  if (typeof v === 'number' && v >= 0 && v < TWO53) {
    if (v < 0x80) return 1;
    if (v < 0x4000) return 2;
    if (v < 0x200000) return 3;
    if (v < 0x10000000) return 4;
    let n = 4;
    v = Math.floor(v / 0x10000000);
    while (v >= 1) { v = Math.floor(v / 0x80); n++; }
    return n;
  }
  setU64(v);
  const hi = scratch64.getUint32(4, true);
  if (hi === 0) return varintSize(scratch64.getUint32(0, true));
  // Five bytes carry bits 0..34; each further byte 7 more.
  let n = 5; // bits 0..34
  let rest = hi >>> 3;
  while (rest !== 0) { rest >>>= 7; n++; }
  return n;
}

/** Writes the varint of v at buf[o…] (room for varintSize(v) bytes); returns the end offset. */
export function writeVarint(buf: Uint8Array, o: number, v: number | bigint): number {
  if (typeof v === 'bigint' && v >= 0n && v < TWO53N) v = Number(v);
  if (typeof v === 'number' && v >= 0 && v < TWO53) {
    // Above 2^31 bit operations would overflow: divide instead.
    while (v >= 0x80) {
      buf[o++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[o++] = v;
    return o;
  }
  // 64-bit: as two 32-bit halves (no bigint per 7 bits).
  setU64(v);
  let lo = scratch64.getUint32(0, true);
  let hi = scratch64.getUint32(4, true);
  while (hi !== 0) {
    buf[o++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo >= 0x80) {
    buf[o++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  buf[o++] = lo;
  return o;
}

/** Puts `v`'s unsigned 64-bit pattern (int64 negatives: two's complement) into scratch64; refuses what does not fit. */
function setU64(v: number | bigint): void {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  if (b < MIN_I64 || b > MAX_U64) throw new RangeError(`protobuf: ${b} does not fit in 64 bits`);
  scratch64.setBigUint64(0, b, true); // modulo 2^64
}

/** Bytes of a field's tag. */
export function tagSize(field: number): number {
  return varintSize(field * 8);
}

/** Writes a field's tag (field number and wire type); returns the end offset. */
export function writeTag(buf: Uint8Array, o: number, field: number, wireType: number): number {
  return writeVarint(buf, o, field * 8 + wireType);
}

/** Size of a whole length-delimited field: tag + length + body. */
export function lenFieldSize(field: number, bodyLen: number): number {
  return tagSize(field) + varintSize(bodyLen) + bodyLen;
}

/** Writes a length-delimited field (tag, length, body); returns the end offset. */
export function writeLenField(buf: Uint8Array, o: number, field: number, body: Uint8Array): number {
  o = writeTag(buf, o, field, WireType.LEN);
  o = writeVarint(buf, o, body.length);
  buf.set(body, o);
  return o + body.length;
}
