// The few HPACK (RFC 7541) pieces the authority repair needs: prefixed integers,
// string literals (raw or Huffman-coded) and Huffman decoding. Not a full codec:
// it never tracks the dynamic table.

import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './huffman-table.js';

export class HpackError extends Error {}

/** Decodes an integer with an N-bit prefix at `pos`; returns [value, next position]. */
export function readInt(buf: Uint8Array, pos: number, prefixBits: number): [number, number] {
  if (pos >= buf.length) throw new HpackError('truncated integer');
  const max = (1 << prefixBits) - 1;
  let value = buf[pos]! & max;
  pos++;
  if (value < max) return [value, pos];
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new HpackError('truncated integer');
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [value, pos];
    if (shift > 28) throw new HpackError('integer too large');
  }
}

/** Encodes `value` with an N-bit prefix, the high bits of the first byte set to `flags`. */
export function writeInt(value: number, prefixBits: number, flags: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  value -= max;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

/** A string literal at `pos`: its decoded octets and where the literal ends. */
export function readString(buf: Uint8Array, pos: number): [Uint8Array, number] {
  if (pos >= buf.length) throw new HpackError('truncated string');
  const huffman = (buf[pos]! & 0x80) !== 0;
  const [len, start] = readInt(buf, pos, 7);
  const end = start + len;
  if (end > buf.length) throw new HpackError('truncated string');
  const raw = buf.subarray(start, end);
  return [huffman ? huffmanDecode(raw) : raw, end];
}

/** A raw (not Huffman-coded) string literal. */
export function encodeRawString(value: Uint8Array): Uint8Array {
  const head = writeInt(value.length, 7, 0);
  const out = new Uint8Array(head.length + value.length);
  out.set(head, 0);
  out.set(value, head.length);
  return out;
}

// code length → (code → symbol), built once.
let decodeTable: Map<number, number>[] | undefined;

function table(): Map<number, number>[] {
  if (decodeTable) return decodeTable;
  decodeTable = Array.from({ length: 31 }, () => new Map<number, number>());
  for (let sym = 0; sym < 256; sym++) decodeTable[HUFFMAN_LENGTHS[sym]!]!.set(HUFFMAN_CODES[sym]!, sym);
  return decodeTable;
}

/** Bit by bit: fine for the one short header value it is used on per connection. */
export function huffmanDecode(data: Uint8Array): Uint8Array {
  const t = table();
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of data) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const sym = t[len]?.get(code);
      if (sym !== undefined) {
        out.push(sym);
        code = 0;
        len = 0;
      } else if (len > 30) {
        throw new HpackError('invalid Huffman code');
      }
    }
  }
  // What is left must be padding: fewer than 8 bits, all ones (the EOS prefix).
  if (len > 7 || code !== 2 ** len - 1) throw new HpackError('invalid Huffman padding');
  return Uint8Array.from(out);
}
