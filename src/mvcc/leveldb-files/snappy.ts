// Snappy decompression (the raw block format LevelDB compresses table blocks
// with; github.com/google/snappy format_description.txt): a varint of the
// uncompressed length, then literals and back-references. Only what reading
// LevelDB's tables needs; LevelDB's own (native) snappy wrote them.

/** Uncompresses one snappy block; throws on anything malformed. */
export function snappyUncompress(src: Uint8Array): Uint8Array {
  let pos = 0;
  let len = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= src.length || shift > 28) throw new Error('snappy: bad uncompressed length');
    const b = src[pos++]!;
    len += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  const out = new Uint8Array(len);
  let op = 0;
  const copy = (offset: number, n: number): void => {
    if (offset === 0 || offset > op || op + n > len) throw new Error('snappy: bad back-reference');
    if (offset >= n) {
      out.copyWithin(op, op - offset, op - offset + n);
      op += n;
    } else {
      // Overlapping copy (a run): byte by byte, each byte may be one just written.
      for (let i = 0; i < n; i++, op++) out[op] = out[op - offset]!;
    }
  };
  while (pos < src.length) {
    const tag = src[pos++]!;
    switch (tag & 3) {
      case 0: {
        let n = tag >>> 2;
        if (n >= 60) {
          const extra = n - 59;
          if (pos + extra > src.length) throw new Error('snappy: truncated literal length');
          n = 0;
          for (let i = 0; i < extra; i++) n += src[pos + i]! * 2 ** (8 * i);
          pos += extra;
        }
        n += 1;
        if (pos + n > src.length || op + n > len) throw new Error('snappy: literal past the end');
        out.set(src.subarray(pos, pos + n), op);
        pos += n;
        op += n;
        break;
      }
      case 1: {
        if (pos >= src.length) throw new Error('snappy: truncated copy');
        copy(((tag >>> 5) << 8) | src[pos++]!, ((tag >>> 2) & 7) + 4);
        break;
      }
      case 2: {
        if (pos + 2 > src.length) throw new Error('snappy: truncated copy');
        copy(src[pos]! | (src[pos + 1]! << 8), (tag >>> 2) + 1);
        pos += 2;
        break;
      }
      default: {
        if (pos + 4 > src.length) throw new Error('snappy: truncated copy');
        copy((src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16)) + src[pos + 3]! * 0x100_0000, (tag >>> 2) + 1);
        pos += 4;
      }
    }
  }
  if (op !== len) throw new Error('snappy: short output');
  return out;
}
