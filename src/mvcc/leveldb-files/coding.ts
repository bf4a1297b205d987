// LevelDB's on-disk integer and key encodings (util/coding.h, db/dbformat.h):
// varints, little-endian fixed-width integers, length-prefixed slices, the
// masked CRC-32C of its log records and table blocks, and internal keys
// (user key · 8 bytes little-endian of sequence << 8 | type).

import { crc32c } from '../../util/crc32c.js';

/** A read position over a byte array. */
export class Cursor {
  constructor(readonly buf: Uint8Array, public pos = 0) {}

  get done(): boolean { return this.pos >= this.buf.length; }

  /** Varint up to 2^53 (file numbers, sizes, sequences: far below it in practice). */
  varint(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.buf.length || shift > 49) throw new Error('leveldb: bad varint');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error('leveldb: slice past the end');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  lengthPrefixed(): Uint8Array { return this.bytes(this.varint()); }
}

/**
 * A copy of `b` that owns its bytes. (Not `b.slice()`: on a Buffer, slice is
 * a view, and the readers here reuse their buffers.)
 */
export const copyBytes = (b: Uint8Array): Uint8Array => new Uint8Array(b);

export const fixed32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x100_0000;

const MASK_DELTA = 0xa282ead8;

/** LevelDB stores CRCs masked (crc32c.h Mask) so a CRC of data holding CRCs stays strong. */
export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

/** True when `stored` (a masked CRC as LevelDB writes it) is the CRC-32C of `data`. */
export const crcMatches = (data: Uint8Array, stored: number): boolean => crc32c(data) === unmaskCrc(stored);

/** Internal key types (dbformat.h ValueType). */
export const TYPE_DELETION = 0;
export const TYPE_VALUE = 1;

export const userKeyOf = (ikey: Uint8Array): Uint8Array => ikey.subarray(0, ikey.length - 8);
/** The low byte of the trailer: TYPE_VALUE or TYPE_DELETION. */
export const typeOf = (ikey: Uint8Array): number => ikey[ikey.length - 8]!;

/**
 * LevelDB's internal key order (InternalKeyComparator over the bytewise
 * comparator): user key ascending, then sequence (and type) descending, so the
 * newest version of a key comes first.
 */
export function compareInternal(a: Uint8Array, b: Uint8Array): number {
  const c = Buffer.compare(userKeyOf(a), userKeyOf(b));
  if (c !== 0) return c;
  const ta = a.length - 8, tb = b.length - 8;
  const hiA = fixed32(a, ta + 4), hiB = fixed32(b, tb + 4);
  if (hiA !== hiB) return hiA > hiB ? -1 : 1;
  const loA = fixed32(a, ta), loB = fixed32(b, tb);
  return loA > loB ? -1 : loA < loB ? 1 : 0;
}
