// HPACK (RFC 7541) decoding of request header blocks, with the dynamic table
// the client's encoder fills. One decoder per connection: blocks must be
// decoded in the order they arrive, every one of them (even for a stream that
// is refused), or the tables drift apart. Any error is a connection error
// (COMPRESSION_ERROR) for the caller.

import { huffmanDecode, HpackError, readInt } from './hpack.js';
import { STATIC_TABLE } from './hpack-static-table.js';

/** RFC 7541 §4.1: an entry's size is its name and value lengths plus 32. */
const ENTRY_OVERHEAD = 32;

export type HeaderList = [name: string, value: string][];

/**
 * Huffman-coded literals seen before, by their coded bytes: clients send the
 * same few values again and again (grpc-timeout, user-agent on each new
 * connection), and the decoder goes bit by bit. Bounded; emptied when full.
 */
const huffmanCache = new Map<string, string>();
const HUFFMAN_CACHE_ENTRIES = 1024;
const HUFFMAN_CACHE_MAX_LENGTH = 64;

/** A string literal at `pos` (RFC 7541 §5.2) as a latin1 string, and where it ends. */
function readLiteral(block: Uint8Array, pos: number): [string, number] {
  if (pos >= block.length) throw new HpackError('truncated string');
  const huffman = (block[pos]! & 0x80) !== 0;
  const [len, start] = readInt(block, pos, 7);
  const end = start + len;
  if (end > block.length) throw new HpackError('truncated string');
  const raw = Buffer.from(block.buffer, block.byteOffset + start, len);
  const text = raw.toString('latin1');
  if (!huffman) return [text, end];
  let decoded = len <= HUFFMAN_CACHE_MAX_LENGTH ? huffmanCache.get(text) : undefined;
  if (decoded === undefined) {
    const bytes = huffmanDecode(raw);
    decoded = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
    if (len <= HUFFMAN_CACHE_MAX_LENGTH) {
      if (huffmanCache.size >= HUFFMAN_CACHE_ENTRIES) huffmanCache.clear();
      huffmanCache.set(text, decoded);
    }
  }
  return [decoded, end];
}

export class HpackDecoder {
  /** Newest first: dynamic index 62 is entries[0]. */
  private entries: [string, string, number][] = [];
  private size = 0;
  private maxSize: number;

  /** limit: our SETTINGS_HEADER_TABLE_SIZE (the most the client may make the table). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  decode(block: Uint8Array): HeaderList {
    const out: HeaderList = [];
    let pos = 0;
    let fieldsSeen = false;
    while (pos < block.length) {
      const b = block[pos]!;
      if (b & 0x80) {
        const [index, next] = readInt(block, pos, 7);
        out.push(this.lookup(index));
        pos = next;
      } else if ((b & 0xc0) === 0x40) {
        pos = this.literal(block, pos, 6, out, true);
      } else if ((b & 0xe0) === 0x20) {
        // A size update must come before the block's first field (§4.2).
        if (fieldsSeen) throw new HpackError('dynamic table size update after a header field');
        const [size, next] = readInt(block, pos, 5);
        if (size > this.limit) throw new HpackError(`dynamic table size ${size} exceeds ${this.limit}`);
        this.maxSize = size;
        this.evict(0);
        pos = next;
        continue;
      } else {
        // 0000xxxx without indexing, 0001xxxx never indexed: the same to a decoder.
        pos = this.literal(block, pos, 4, out, false);
      }
      fieldsSeen = true;
    }
    return out;
  }

  /** The table's size in octets (for tests). */
  get tableSize(): number {
    return this.size;
  }

  private literal(block: Uint8Array, pos: number, prefixBits: number, out: HeaderList, index: boolean): number {
    const [nameIndex, afterIndex] = readInt(block, pos, prefixBits);
    let name: string;
    let at = afterIndex;
    if (nameIndex === 0) {
      [name, at] = readLiteral(block, afterIndex);
    } else {
      name = this.lookup(nameIndex)[0];
    }
    const [value, end] = readLiteral(block, at);
    out.push([name, value]);
    if (index) this.insert(name, value);
    return end;
  }

  private lookup(index: number): [string, string] {
    if (index === 0) throw new HpackError('header index 0');
    if (index <= STATIC_TABLE.length) {
      const e = STATIC_TABLE[index - 1]!;
      return [e[0], e[1]];
    }
    const e = this.entries[index - STATIC_TABLE.length - 1];
    if (!e) throw new HpackError(`header index ${index} beyond the table`);
    return [e[0], e[1]];
  }

  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.maxSize) {
      // §4.4: an entry larger than the table empties it and is not added.
      this.entries = [];
      this.size = 0;
      return;
    }
    this.evict(entrySize);
    this.entries.unshift([name, value, entrySize]);
    this.size += entrySize;
  }

  /** Evicts the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.entries.length > 0) {
      this.size -= this.entries.pop()![2];
    }
  }
}
