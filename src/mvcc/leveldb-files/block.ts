// A LevelDB table block (table/block.cc, table/format.cc): entries with
// prefix-compressed keys (shared, non-shared and value lengths as varints,
// then the key's new bytes and the value), then the restart offsets and their
// count as little-endian u32s. On disk each block is followed by a 5-byte
// trailer: the compression type and a masked CRC-32C of the block and that byte.

import { Cursor, crcMatches, fixed32 } from './coding.js';
import { snappyUncompress } from './snappy.js';

/** Where a block lies in its table file (varint offset, varint size; size excludes the trailer). */
export interface BlockHandle {
  offset: number;
  size: number;
}

export const BLOCK_TRAILER = 5;
const NO_COMPRESSION = 0;
const SNAPPY = 1;

export function decodeHandle(c: Cursor): BlockHandle {
  const offset = c.varint();
  return { offset, size: c.varint() };
}

/**
 * The contents of a block read with its trailer (`raw` is size + 5 bytes),
 * checksum verified, uncompressed. `where` names it in errors.
 */
export function blockContents(raw: Uint8Array, where: string): Uint8Array {
  const n = raw.length - BLOCK_TRAILER;
  if (n < 0) throw new Error(`leveldb: truncated block in ${where}`);
  if (!crcMatches(raw.subarray(0, n + 1), fixed32(raw, n + 1))) throw new Error(`leveldb: block checksum mismatch in ${where}`);
  const data = raw.subarray(0, n);
  switch (raw[n]) {
    case NO_COMPRESSION: return data;
    case SNAPPY: return snappyUncompress(data);
    default: throw new Error(`leveldb: bad block type ${raw[n]} in ${where}`);
  }
}

/** The entries of a block in order: keys are fresh arrays, values views into `block`. */
export function blockEntries(block: Uint8Array, where: string): { keys: Uint8Array[]; values: Uint8Array[] } {
  if (block.length < 4) throw new Error(`leveldb: block too short in ${where}`);
  const restarts = fixed32(block, block.length - 4);
  const end = block.length - 4 * (restarts + 1);
  if (end < 0) throw new Error(`leveldb: bad restart count in ${where}`);
  const c = new Cursor(block.subarray(0, end));
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  let prev = new Uint8Array(0);
  while (!c.done) {
    const shared = c.varint();
    const unshared = c.varint();
    const valueLen = c.varint();
    if (shared > prev.length) throw new Error(`leveldb: bad key prefix in ${where}`);
    const key = new Uint8Array(shared + unshared);
    key.set(prev.subarray(0, shared));
    key.set(c.bytes(unshared), shared);
    keys.push(key);
    values.push(c.bytes(valueLen));
    prev = key;
  }
  return { keys, values };
}
