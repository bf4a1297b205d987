// A minimal protobuf wire-format writer and reader: varints (as JS numbers for
// values below 2^53, as bigint for 64-bit ids), length-delimited bytes and nested
// messages. Private to src/raft: the Raft codec uses it so that src/raft imports
// nothing from the rest of the project. Everything else uses the project's wire
// toolkit, src/pb/wire.ts; test/unit/pb-wire.test.ts checks that the two write
// the same bytes for the same values.

const WIRE_VARINT = 0;
const WIRE_64 = 1;
const WIRE_LEN = 2;
const WIRE_32 = 5;

export class WireWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initial = 64) {
    this.buf = new Uint8Array(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
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
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
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
    // A writer sized exactly hands over its buffer: any later write would have to
    // grow (reallocate) it first, so the returned bytes are never changed.
    return this.pos === this.buf.length ? this.buf : this.buf.slice(0, this.pos);
  }
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
