import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/util/crc32c.js';

const enc = new TextEncoder();

describe('crc32c', () => {
  it('matches known vectors (RFC 3720 B.4 and the check value)', () => {
    expect(crc32c(enc.encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(enc.encode('The quick brown fox jumps over the lazy dog'))).toBe(0x22620404);
  });

  it('returns unsigned 32-bit values', () => {
    for (let i = 0; i < 100; i++) {
      const v = crc32c(Uint8Array.of(i, i * 3, i * 7));
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(0xffffffff);
      expect(Number.isInteger(v)).toBe(true);
    }
  });

  it('chains: crc32c(b, crc32c(a)) === crc32c(a ++ b) at every split', () => {
    const data = Uint8Array.from({ length: 1500 }, (_, i) => (i * 131 + 7) & 0xff);
    const whole = crc32c(data);
    for (const cut of [0, 1, 3, 7, 8, 9, 255, 256, 257, 700, 1499, 1500]) {
      expect(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut)))).toBe(whole);
    }
  });

  it('agrees between the word path, the byte path and unaligned views', () => {
    const big = Uint8Array.from({ length: 10_003 }, (_, i) => (i * 2654435761) >>> 24);
    let bytewise = 0;
    for (let i = 0; i < big.length; i += 100) bytewise = crc32c(big.subarray(i, Math.min(i + 100, big.length)), bytewise);
    expect(crc32c(big)).toBe(bytewise);
    for (let shift = 1; shift < 8; shift++) {
      const copy = new Uint8Array(big.length + shift);
      copy.set(big, shift);
      expect(crc32c(copy.subarray(shift))).toBe(bytewise);
    }
  });
});
