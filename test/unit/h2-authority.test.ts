import { describe, expect, it } from 'vitest';
import { huffmanDecode, readInt, writeInt, encodeRawString, readString } from '../../src/server/h2/hpack.js';
import { repairHeaderBlock, repairHeadersFrame } from '../../src/server/h2/authority-repair.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('HPACK pieces', () => {
  it('decodes the RFC 7541 Huffman examples', () => {
    // RFC 7541 C.4.1 and C.4.2
    expect(Buffer.from(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'))).toString()).toBe('www.example.com');
    expect(Buffer.from(huffmanDecode(hex('a8eb 1064 9cbf'))).toString()).toBe('no-cache');
    expect(() => huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f400'))).toThrow(/padding/);
  });

  it('round-trips prefixed integers (RFC 7541 C.1)', () => {
    expect(writeInt(10, 5, 0)).toEqual([10]);
    expect(writeInt(1337, 5, 0)).toEqual([31, 154, 10]);
    expect(readInt(Uint8Array.from([31, 154, 10]), 0, 5)).toEqual([1337, 3]);
    const s = encodeRawString(Buffer.from('x'.repeat(300)));
    expect(Buffer.from(readString(s, 0)[0]).toString()).toBe('x'.repeat(300));
  });
});

describe(':authority repair', () => {
  // Literal with incremental indexing, name = static index 1 (:authority).
  const literal = (value: Uint8Array, huffman: boolean): Uint8Array =>
    Buffer.concat([Buffer.from([0x41]), Buffer.from(writeInt(value.length, 7, huffman ? 0x80 : 0)), value]);

  it('rewrites a scheme-bearing authority to the same length, raw or Huffman-coded', () => {
    const block = Buffer.concat([Buffer.from([0x83, 0x86]), literal(Buffer.from('http://127.0.0.1:2379'), false), Buffer.from([0x84])]);
    const fixed = repairHeaderBlock(block)!;
    expect(Buffer.from(fixed).toString('latin1')).toContain('http:__127.0.0.1:2379');
    expect(fixed.length).toBe(block.length);
    // "www.example.com" Huffman-coded is valid as it is: nothing to do.
    expect(repairHeaderBlock(literal(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'), true))).toBeUndefined();
  });

  it('repairs a HEADERS frame and fixes its length; leaves good ones alone', () => {
    const value = Buffer.from('http://10.0.0.1:2379');
    const block = Buffer.concat([Buffer.from([0x83]), literal(value, false)]);
    const frame = Buffer.concat([Buffer.from([0, 0, block.length, 0x1, 0x4, 0, 0, 0, 1]), block]);
    const fixed = Buffer.from(repairHeadersFrame(frame)!);
    expect(fixed.readUIntBE(0, 3)).toBe(fixed.length - 9);
    expect(fixed.toString('latin1')).toContain('http:__10.0.0.1:2379');
    const good = Buffer.concat([Buffer.from([0x83]), literal(Buffer.from('127.0.0.1:2379'), false)]);
    expect(repairHeadersFrame(Buffer.concat([Buffer.from([0, 0, good.length, 0x1, 0x4, 0, 0, 0, 1]), good]))).toBeUndefined();
    // Continued in CONTINUATION frames (no END_HEADERS): left to Node.
    expect(repairHeadersFrame(Buffer.concat([Buffer.from([0, 0, block.length, 0x1, 0x0, 0, 0, 0, 1]), block]))).toBeUndefined();
  });
});
