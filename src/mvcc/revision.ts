// A revision is {main, sub}: main counts write transactions, sub counts changes
// inside one. Both stay below 2^53, so plain numbers are used (no bigint cost on
// the hot path).
//
// Backend key layout (keyspace.ts): 'k' + BE64(main) + BE64(sub) [+ 't' for tombstones]. Big-endian
// makes LevelDB's byte order equal revision order, which compaction, index rebuild
// and hashing rely on.

import { REV_PREFIX as KEY_PREFIX } from './keyspace.js'; // 'k'

export const TOMBSTONE_MARK = 0x74; // 't'
export const REV_KEY_LEN = 17;

const TWO32 = 0x1_0000_0000;

export function compareRev(aMain: number, aSub: number, bMain: number, bSub: number): number {
  if (aMain !== bMain) return aMain < bMain ? -1 : 1;
  if (aSub !== bSub) return aSub < bSub ? -1 : 1;
  return 0;
}

function writeBE64(buf: Uint8Array, off: number, n: number): void {
  const hi = Math.floor(n / TWO32);
  const lo = n >>> 0;
  buf[off] = hi >>> 24; buf[off + 1] = hi >>> 16; buf[off + 2] = hi >>> 8; buf[off + 3] = hi;
  buf[off + 4] = lo >>> 24; buf[off + 5] = lo >>> 16; buf[off + 6] = lo >>> 8; buf[off + 7] = lo;
}

function readBE64(buf: Uint8Array, off: number): number {
  const hi = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
  const lo = ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0;
  return hi * TWO32 + lo;
}

/** LevelDB key of a revision. */
export function revKey(main: number, sub: number, tombstone = false): Uint8Array {
  const b = new Uint8Array(tombstone ? REV_KEY_LEN + 1 : REV_KEY_LEN);
  b[0] = KEY_PREFIX;
  writeBE64(b, 1, main);
  writeBE64(b, 9, sub);
  if (tombstone) b[REV_KEY_LEN] = TOMBSTONE_MARK;
  return b;
}

/** Writes a revision key at buf[off…]; returns its length. */
export function revKeyInto(buf: Uint8Array, off: number, main: number, sub: number, tombstone: boolean): number {
  buf[off] = KEY_PREFIX;
  writeBE64(buf, off + 1, main);
  writeBE64(buf, off + 9, sub);
  if (!tombstone) return REV_KEY_LEN;
  buf[off + REV_KEY_LEN] = TOMBSTONE_MARK;
  return REV_KEY_LEN + 1;
}

export interface DecodedRevKey { main: number; sub: number; tombstone: boolean }

export function parseRevKey(k: Uint8Array): DecodedRevKey {
  return { main: readBE64(k, 1), sub: readBE64(k, 9), tombstone: k.length > REV_KEY_LEN && k[REV_KEY_LEN] === TOMBSTONE_MARK };
}

/** etcd's own bbolt key for a revision (BE64 main '_' BE64 sub [+ 't']); hashed so HashKV matches etcd. */
export function etcdRevBytes(main: number, sub: number, tombstone: boolean): Uint8Array {
  const b = new Uint8Array(tombstone ? 18 : 17);
  writeBE64(b, 0, main);
  b[8] = 0x5f; // '_'
  writeBE64(b, 9, sub);
  if (tombstone) b[17] = TOMBSTONE_MARK;
  return b;
}

/** 8-byte big-endian encoding used for numeric meta values. */
export function u64Bytes(n: number): Uint8Array {
  const b = new Uint8Array(8);
  writeBE64(b, 0, n);
  return b;
}

export function readU64(b: Uint8Array): number {
  return readBE64(b, 0);
}
