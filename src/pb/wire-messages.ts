// WireWriter and WireReader: a convenient builder and reader for small messages
// (lease records, WAL metadata, snapshot chunks, the Raft log payload header),
// built on wire.ts's cursor readers and raw writers. Hot paths that size a
// message first use those directly instead.

import {
  malformed,
  readI64,
  readU64,
  readUint53,
  readView,
  skipField,
  WireType,
  writeVarint,
  type ByteCursor,
} from './wire.js';

/**
 * Builder for small messages. Scalars at their proto3 default (0, 0n, false,
 * empty bytes) are left out unless stated otherwise.
 */
export class WireWriter {
  private buf: Uint8Array;
  private pos = 0;
  /** exact(): never grown, and finish() wants every byte written. */
  private readonly fixed: boolean;

  /** A growing writer of `initial` bytes to start with, or one that fills exactly `initial` (see exact()). */
  constructor(initial: number | Uint8Array = 64) {
    this.fixed = typeof initial !== 'number';
    this.buf = typeof initial === 'number' ? new Uint8Array(Math.max(initial, 16)) : initial;
  }

  /**
   * A writer for exactly `size` bytes, in memory that is not zero-filled first
   * (Buffer.allocUnsafe; small sizes are carved from Node's shared pool, so use it
   * for short-lived bytes). finish() throws unless every byte was written, so no
   * uninitialised byte can reach the output.
   */
  static exact(size: number): WireWriter {
    return new WireWriter(Buffer.allocUnsafe(size));
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

  private varint(v: number | bigint): void {
    this.ensure(10);
    this.pos = writeVarint(this.buf, this.pos, v);
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** Non-negative integer below 2^53 (uint32, or a uint64 known to be small). */
  uint(field: number, v: number): this {
    if (v !== 0) {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`field ${field}: not a uint: ${v}`);
      this.tag(field, WireType.VARINT);
      this.varint(v);
    }
    return this;
  }

  /** uint64 (0 ≤ v < 2^64); a negative bigint is written as int64 would be. */
  uint64(field: number, v: bigint | number): this {
    if (v != 0) {
      this.tag(field, WireType.VARINT);
      this.varint(v);
    }
    return this;
  }

  /** int64 (-2^63 ≤ v < 2^63): negative values are 10-byte two's complement. */
  int64(field: number, v: bigint | number): this {
    if (typeof v === 'bigint' && v >= 1n << 63n) throw new RangeError(`field ${field}: ${v} is not an int64`);
    return this.uint64(field, v);
  }

  bool(field: number, v: boolean): this {
    if (v) {
      this.tag(field, WireType.VARINT);
      this.varint(1);
    }
    return this;
  }

  /** Bytes; empty is left out unless `always` (repeated or presence-sensitive fields). */
  bytes(field: number, v: Uint8Array | undefined, always = false): this {
    if (v === undefined || (v.length === 0 && !always)) return this;
    this.tag(field, WireType.LEN);
    this.varint(v.length);
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
   * A nested message whose encoded length is known: written in place (no inner
   * writer, no copy). `size` must be exactly what `encode` writes; a mismatch throws.
   */
  sizedMessage(field: number, size: number, encode: (w: WireWriter) => void): this {
    this.tag(field, WireType.LEN);
    this.varint(size);
    this.ensure(size);
    const start = this.pos;
    encode(this);
    if (this.pos - start !== size) throw new Error(`field ${field}: nested message wrote ${this.pos - start} bytes, sized ${size}`);
    return this;
  }

  /** The bytes written: in an ArrayBuffer of their own, or for exact(), the whole sized buffer. */
  finish(): Uint8Array {
    if (this.fixed) {
      if (this.pos !== this.buf.length) throw new Error(`protobuf: sized ${this.buf.length} bytes, wrote ${this.pos}`);
      return this.buf;
    }
    return this.buf.slice(0, this.pos);
  }
}

/**
 * Reader for small messages: `while (!r.done()) { const [field, wt] = r.tag(); … }`.
 * Every read is bounds-checked (RangeError on truncated or malformed input);
 * bytes come out as views into the input.
 */
export class WireReader {
  private readonly c: ByteCursor;

  constructor(buf: Uint8Array) {
    this.c = { buf, pos: 0 };
  }

  done(): boolean {
    return this.c.pos >= this.c.buf.length;
  }

  /** The next tag as [field, wireType]. */
  tag(): [number, number] {
    const t = readUint53(this.c);
    return [Math.floor(t / 8), t % 8];
  }

  /** A varint below 2^53 as a number. */
  varint(): number {
    return readUint53(this.c);
  }

  /** A uint64 varint as bigint. */
  bigVarint(): bigint {
    return readU64(this.c);
  }

  /** An int64 varint as bigint (10-byte negatives come back negative). */
  int64(): bigint {
    return readI64(this.c);
  }

  bytes(): Uint8Array {
    return readView(this.c);
  }

  skip(wireType: number): void {
    if (wireType === WireType.SGROUP || wireType === WireType.EGROUP) malformed(`wire type ${wireType}`);
    skipField(this.c, wireType);
  }
}
