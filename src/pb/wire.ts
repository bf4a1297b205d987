// Low-level protobuf wire reading and 64-bit helpers used by the compiled
// codecs (compile.ts). Reading is our own (a cursor over a Buffer) so that
// 64-bit varints come out as bigint directly and bytes fields come out as
// Buffers without a conversion pass. Writing reuses protobufjs's Writer, which
// is already fast; we only feed its 64-bit methods with {low, high} pairs.

import protobuf from 'protobufjs';

/** Read cursor. `buf` is always a Buffer (we wrap plain Uint8Arrays). */
export interface Cursor {
  buf: Buffer;
  pos: number;
}

/** Shared zero-length Buffer for absent bytes fields (nothing to mutate in it). */
export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function malformed(what: string): never {
  throw new RangeError(`protobuf: malformed ${what}`);
}

/**
 * Varint truncated to its low 32 bits, as unsigned. Used for tags, lengths,
 * uint32, and (with `| 0`) int32/enum, whose negative values are 10 bytes long.
 */
export function readU32(c: Cursor): number {
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
export function readU64(c: Cursor): bigint {
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

function readU64Slow(c: Cursor): bigint {
  const b = c.buf;
  let p = c.pos;
  // Up to 7 bytes (49 bits) fit exactly in a double.
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 7; i++) {
    const x = b[p++];
    v += (x & 0x7f) * mul;
    if (x < 0x80) { c.pos = p; return BigInt(v); }
    mul *= 128;
  }
  let big = BigInt(v);
  let shift = 49n;
  for (let i = 7; i < 10; i++) {
    const x = b[p++];
    big |= BigInt(x & 0x7f) << shift;
    if (x < 0x80) {
      if (p > b.length) malformed('varint (truncated)');
      c.pos = p;
      return BigInt.asUintN(64, big);
    }
    shift += 7n;
  }
  return malformed('varint');
}

/** Signed 64-bit (int64; negative values are 10-byte two's complement). */
export function readI64(c: Cursor): bigint {
  return BigInt.asIntN(64, readU64(c));
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
export function skipField(c: Cursor, wireType: number, depth = 0): void {
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
    w.uint64({
      low: Number(BigInt.asUintN(32, v)) | 0,
      high: Number(BigInt.asUintN(32, v >> 32n)) | 0,
      unsigned: false,
    } as unknown as number);
  }
}

/** Thrown by generated decoders on a length/field mismatch. */
export function bad(): never {
  return malformed('message (length mismatch or field number 0)');
}
