// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum etcd uses
// for WAL records and snapshot files. Node 20 has no built-in CRC-32C, so this is
// table-driven slice-by-8: eight 256-entry tables, eight input bytes per step.
// Measured ~600 MB/s on byte loads and ~900 MB/s when long inputs are read as
// 32-bit words, so both paths exist: the word view costs an allocation, which
// only pays off for long inputs (a WAL record is often ~100 bytes).
//
// Chaining: crc32c(b, crc32c(a)) === crc32c(concat(a, b)). The pre/post inversion
// is applied inside each call, so `prev` is an ordinary finished CRC, exactly what
// an earlier call returned.

const POLY = 0x82f63b78;

// T[k*256 + b]: CRC of byte b followed by k zero bytes. One flat array keeps the
// hot loop to a single typed-array base.
const T = new Int32Array(8 * 256);
for (let b = 0; b < 256; b++) {
  let c = b;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[b] = c;
}
for (let b = 0; b < 256; b++) {
  let c = T[b]!;
  for (let k = 1; k < 8; k++) {
    c = T[c & 0xff]! ^ (c >>> 8);
    T[k * 256 + b] = c;
  }
}

// The word path reads memory in host order; the tables assume little-endian.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const WORD_PATH_MIN = 256;

function step8(crc: number, lo: number, hi: number): number {
  lo ^= crc;
  return (
    T[1792 + (lo & 0xff)]! ^
    T[1536 + ((lo >>> 8) & 0xff)]! ^
    T[1280 + ((lo >>> 16) & 0xff)]! ^
    T[1024 + (lo >>> 24)]! ^
    T[768 + (hi & 0xff)]! ^
    T[512 + ((hi >>> 8) & 0xff)]! ^
    T[256 + ((hi >>> 16) & 0xff)]! ^
    T[hi >>> 24]!
  );
}

/** CRC-32C of `data`, continuing from the finished CRC `prev`; unsigned 32-bit. */
export function crc32c(data: Uint8Array, prev = 0): number {
  let crc = ~prev;
  const len = data.length;
  let i = 0;
  if (LITTLE_ENDIAN && len >= WORD_PATH_MIN) {
    while (((data.byteOffset + i) & 3) !== 0) crc = T[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
    const n = ((len - i) >>> 3) * 2;
    const w = new Int32Array(data.buffer, data.byteOffset + i, n);
    for (let j = 0; j < n; j += 2) crc = step8(crc, w[j]!, w[j + 1]!);
    i += n * 4;
  } else {
    const end8 = len - (len & 7);
    while (i < end8) {
      crc = step8(
        crc,
        data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24),
        data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24),
      );
      i += 8;
    }
  }
  while (i < len) crc = T[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
