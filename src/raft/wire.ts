// A minimal protobuf wire-format writer and reader: varints (as JS numbers for
// values below 2^53, as bigint for 64-bit ids), length-delimited bytes and nested
// messages. Private to src/raft: the Raft codec uses it so that src/raft imports
// nothing from the rest of the project. Everything else uses the project's wire
// toolkit, src/pb/wire.ts; test/unit/pb-wire.test.ts checks that the two write
// the same bytes for the same values.

import { sendArena } from './arena.js';

const WIRE_VARINT = 0;
const WIRE_64 = 1;
const WIRE_LEN = 2;
const WIRE_32 = 5;

/**
 * A 64-bit id split into 32-bit halves through this view: setBigUint64 takes
 * it modulo 2^64 (negatives wrap, as uint64) without making a bigint, where
 * BigInt.asUintN, `& 0xffffffffn` and `>> 32n` each made one per id written.
 */
const scratch64 = new DataView(new ArrayBuffer(8));
function splitU64(v: bigint): void {
  scratch64.setBigUint64(0, v, true);
}
const lo32 = (): number => scratch64.getUint32(0, true);
const hi32 = (): number => scratch64.getUint32(4, true);

export class WireWriter {
  private buf: Uint8Array;
  private pos = 0;
  /** Set by exact()/into(): the buffer is never grown and finish() wants it full. */
  private readonly fixed: boolean;

  constructor(initial: number | Uint8Array = 64) {
    if (typeof initial === 'number') {
      this.buf = new Uint8Array(initial);
      this.fixed = false;
    } else {
      this.buf = initial;
      this.fixed = true;
    }
  }

  /**
   * A writer for exactly `size` bytes, carved from the short-lived arena (no
   * allocation of its own, no zero fill per message; see arena.ts). Every byte
   * must be written: finish() throws otherwise.
   */
  static exact(size: number): WireWriter {
    return new WireWriter(sendArena.bytes(size));
  }

  /** A writer that fills `buf` (exactly, see exact()). */
  static into(buf: Uint8Array): WireWriter {
    return new WireWriter(buf);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.fixed) return; // writing past the end throws in finish() (typed arrays drop the bytes)
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private rawVarint(v: number): void {
    this.ensure(10);
    // Values up to 2^53: split so that bit operations stay within 32 bits.
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  private rawBigVarint(v: bigint): void {
    this.ensure(10);
    // Member ids are random 64-bit values: two 32-bit halves, then number arithmetic
    // (a bigint shift per 7 bits cost more than the rest of a small message).
    splitU64(v);
    let lo = lo32();
    let hi = hi32();
    if (hi < 0x200000) {
      this.rawVarint(hi * 0x100000000 + lo); // below 2^53: exact as a number
      return;
    }
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < 4; i++) {
      b[p++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    // 28 bits written; the next byte takes lo's last 4 bits and hi's first 3.
    lo |= (hi & 0x7) << 4;
    hi >>>= 3;
    if (hi === 0) {
      b[p++] = lo;
      this.pos = p;
      return;
    }
    b[p++] = lo | 0x80;
    while (hi >= 0x80) {
      b[p++] = (hi & 0x7f) | 0x80;
      hi >>>= 7;
    }
    b[p++] = hi;
    this.pos = p;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  /** Non-negative integer below 2^53; zero is omitted (proto3 default). */
  uint(field: number, v: number): this {
    if (v !== 0) {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`field ${field}: not a uint: ${v}`);
      this.tag(field, WIRE_VARINT);
      this.rawVarint(v);
    }
    return this;
  }

  /** 64-bit unsigned id; zero is omitted. */
  uint64(field: number, v: bigint): this {
    if (v !== 0n) {
      this.tag(field, WIRE_VARINT);
      this.rawBigVarint(v);
    }
    return this;
  }

  bool(field: number, v: boolean): this {
    if (v) {
      this.tag(field, WIRE_VARINT);
      this.rawVarint(1);
    }
    return this;
  }

  /** Bytes; empty is omitted unless `always` (repeated/presence-sensitive fields). */
  bytes(field: number, v: Uint8Array | undefined, always = false): this {
    if (v === undefined || (v.length === 0 && !always)) return this;
    this.tag(field, WIRE_LEN);
    this.rawVarint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  /** A nested message, always written (presence matters for sub-messages). */
  message(field: number, encode: (w: WireWriter) => void): this {
    const inner = new WireWriter();
    encode(inner);
    return this.bytes(field, inner.finish(), true);
  }

  /**
   * A nested message whose encoded length is known beforehand: written in place
   * (tag, length, then `encode` writes into this writer), with no inner writer,
   * no intermediate buffer and no copy. `size` must be the exact number of bytes
   * `encode` writes; a mismatch throws.
   */
  sizedMessage(field: number, size: number, encode: (w: WireWriter) => void): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(size);
    this.ensure(size);
    const start = this.pos;
    encode(this);
    if (this.pos - start !== size) throw new Error(`field ${field}: nested message wrote ${this.pos - start} bytes, sized ${size}`);
    return this;
  }

  finish(): Uint8Array {
    if (this.fixed) {
      if (this.pos !== this.buf.length) throw new Error(`wire: sized ${this.buf.length} bytes, wrote ${this.pos}`);
      return this.buf;
    }
    // A writer sized exactly hands over its buffer: any later write would have to
    // grow (reallocate) it first, so the returned bytes are never changed.
    return this.pos === this.buf.length ? this.buf : this.buf.slice(0, this.pos);
  }
}

/** Bytes that rawBigVarint writes for a 64-bit id (as uint64: negatives wrap). */
export function bigVarintSize(v: bigint): number {
  splitU64(v);
  const hi = hi32();
  if (hi < 0x200000) return varintSize(hi * 0x100000000 + lo32());
  // 32 bits of lo plus the bits of hi, 7 per byte.
  return Math.ceil((32 + (32 - Math.clz32(hi))) / 7);
}

/** Bytes of a uint field under 16 (one-byte tag) as WireWriter.uint writes it; zero is omitted. */
export function uintFieldSize(v: number): number {
  return v === 0 ? 0 : 1 + varintSize(v);
}

/** Bytes of a uint64 id field under 16 as WireWriter.uint64 writes it; zero is omitted. */
export function idFieldSize(v: bigint): number {
  return v === 0n ? 0 : 1 + bigVarintSize(v);
}

/** Bytes of a bytes field under 16 as WireWriter.bytes writes it (empty omitted unless `always`). */
export function bytesFieldSize(v: Uint8Array | undefined, always = false): number {
  if (v === undefined || (v.length === 0 && !always)) return 0;
  return 1 + varintSize(v.length) + v.length;
}

/** Bytes that rawVarint writes for a non-negative integer below 2^53. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

const ID_CACHE_SIZE = 8;
const idLo = new Array<number>(ID_CACHE_SIZE).fill(0);
const idHi = new Array<number>(ID_CACHE_SIZE).fill(0);
const idVal = new Array<bigint | undefined>(ID_CACHE_SIZE).fill(undefined);
let idNext = 0;

export class WireReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** Reads the next tag; returns [field, wireType]. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t % 8];
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new RangeError('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new RangeError('protobuf: varint above 2^53');
        return result;
      }
      mul *= 0x80;
    }
    throw new RangeError('protobuf: varint too long');
  }

  bigVarint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new RangeError('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new RangeError('protobuf: varint too long');
  }

  /**
   * A uint64 id as bigint (what bigVarint reads). A member sees few ids (its
   * peers'), and building a bigint from a 64-bit varint costs a bigint operation
   * per byte: the varint is read as two 32-bit halves, and the ids seen lately are
   * handed out again from a small cache.
   */
  id(): bigint {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0, shift = 0; ; i++, shift += 7) {
      if (i === 10) throw new RangeError('protobuf: varint too long');
      if (p >= b.length) throw new RangeError('protobuf: truncated varint');
      const byte = b[p++]!;
      const bits = byte & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= bits << 28; // the top 3 bits fall off: they go to hi
        hi = bits >>> 4;
      } else hi |= bits << (shift - 32); // past bit 63 falls off, as uint64 wraps
      if (byte < 0x80) break;
    }
    this.pos = p;
    lo >>>= 0;
    hi >>>= 0;
    for (let i = 0; i < ID_CACHE_SIZE; i++) {
      if (idLo[i] === lo && idHi[i] === hi && idVal[i] !== undefined) return idVal[i]!;
    }
    const v = (BigInt(hi) << 32n) | BigInt(lo);
    idLo[idNext] = lo;
    idHi[idNext] = hi;
    idVal[idNext] = v;
    idNext = (idNext + 1) % ID_CACHE_SIZE;
    return v;
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw new RangeError('protobuf: truncated bytes');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_64:
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_32:
        this.pos += 4;
        return;
      default:
        throw new RangeError(`protobuf: unsupported wire type ${wire}`);
    }
  }
}
