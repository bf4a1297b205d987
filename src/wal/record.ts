// WAL record framing (our own layout, modelled on etcd's).
//
//   offset  size  field
//   0       8     length word, little-endian u64:
//                   bits 0..55  body length L (header + data, without padding)
//                   bits 56..63 0 when L is a multiple of 8, else 0x80 | padBytes
//   8       1     record type (RecordType below)
//   9       3     reserved, must be zero
//   12      4     crc, little-endian u32
//   16      L-8   data
//   8+L     pad   zero bytes up to the next multiple of 8
//
// Every record starts 8-byte aligned, so its length word never straddles a
// 512-byte sector: a crash can leave a record's body half-written, but not its
// length word. A zero length word means "no more records" (the rest of a
// preallocated segment is zeros).
//
// crc: running CRC-32C chained over every earlier record in the log, across
// segments: crc = crc32c(data, crc32c([type], previous crc)). Folding the type in
// means a flipped type bit is caught too. A Crc record does not advance the chain:
// its crc field *is* the chain value so far; each segment begins with one, which
// lets a segment be verified on its own after older segments were released.
//
// Data per type:
//   Metadata  opaque bytes from the server (identical in every segment)
//   Entry     raft Entry, src/raft/codec.ts encodeEntry
//   State     raft HardState, encodeHardState
//   Crc       empty
//   Snapshot  16 bytes: snapshot index u64 LE, snapshot term u64 LE

import { crc32c } from '../util/crc32c.js';

export enum RecordType {
  Metadata = 1,
  Entry = 2,
  State = 3,
  Crc = 4,
  Snapshot = 5,
}

export const FRAME_BYTES = 8;
export const HEADER_BYTES = 8;
/** No legitimate record comes near this (raft messages are capped at a few MiB). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
export const SECTOR_BYTES = 512;

const TWO_32 = 0x1_0000_0000;

// One-byte arrays so the chain can fold the type in without allocating.
const TYPE_BYTE: Uint8Array[] = Array.from({ length: 6 }, (_, t) => Uint8Array.of(t));

export function recordCrc(type: RecordType, data: Uint8Array, prev: number): number {
  return crc32c(data, crc32c(TYPE_BYTE[type]!, prev));
}

export function encodeSnapshotMarker(index: number, term: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(index), true);
  v.setBigUint64(8, BigInt(term), true);
  return b;
}

export function decodeSnapshotMarker(data: Uint8Array): { index: number; term: number } {
  if (data.length !== 16) throw new RangeError(`snapshot marker: ${data.length} bytes, want 16`);
  const v = new DataView(data.buffer, data.byteOffset, 16);
  const index = v.getBigUint64(0, true);
  const term = v.getBigUint64(8, true);
  if (index > BigInt(Number.MAX_SAFE_INTEGER) || term > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError('snapshot marker: index or term above 2^53');
  }
  return { index: Number(index), term: Number(term) };
}

/**
 * Encodes records back to back into one reusable buffer, so a group commit is one
 * write() no matter how many records it holds. Carries the CRC chain.
 */
export class RecordBatch {
  private buf: Buffer;
  private len = 0;

  constructor(
    public crc: number,
    initialBytes = 64 * 1024,
  ) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.len;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** Empties the buffer (after it was written); the chain carries on. */
  reset(): void {
    this.len = 0;
  }

  /** A point to roll back to if encoding a caller's request fails halfway. */
  mark(): { len: number; crc: number } {
    return { len: this.len, crc: this.crc };
  }

  rollback(m: { len: number; crc: number }): void {
    this.len = m.len;
    this.crc = m.crc;
  }

  add(type: RecordType, data: Uint8Array): void {
    if (type === RecordType.Crc) throw new Error('use addCrc for Crc records');
    this.crc = recordCrc(type, data, this.crc);
    this.put(type, this.crc, data);
  }

  /** A Crc record carrying the current chain value (first record of a segment). */
  addCrc(): void {
    this.put(RecordType.Crc, this.crc, new Uint8Array(0));
  }

  private put(type: RecordType, crc: number, data: Uint8Array): void {
    const body = HEADER_BYTES + data.length;
    if (body > MAX_RECORD_BYTES) throw new RangeError(`WAL record of ${body} bytes exceeds ${MAX_RECORD_BYTES}`);
    const pad = (8 - (body & 7)) & 7;
    const total = FRAME_BYTES + body + pad;
    this.ensure(total);
    const b = this.buf;
    let p = this.len;
    b.writeUInt32LE(body % TWO_32, p);
    b.writeUInt32LE((Math.floor(body / TWO_32) | (pad ? (0x80 | pad) << 24 : 0)) >>> 0, p + 4);
    b[p + 8] = type;
    b[p + 9] = 0;
    b[p + 10] = 0;
    b[p + 11] = 0;
    b.writeUInt32LE(crc >>> 0, p + 12);
    b.set(data, p + 16);
    p += FRAME_BYTES + body;
    for (let i = 0; i < pad; i++) b[p + i] = 0;
    this.len += total;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}

export type Frame =
  /** A well-formed record; crc not yet verified against the chain. */
  | { kind: 'record'; type: number; crc: number; data: Uint8Array; end: number }
  /** Zero length word or exact end of buffer: no more records here. */
  | { kind: 'end' }
  /** The record runs past the end of the buffer. */
  | { kind: 'short'; reason: string }
  /** The frame itself is malformed (impossible length, flags or header). */
  | { kind: 'bad'; reason: string; end: number };

/** Reads the frame at `off` without verifying its crc. */
export function readFrame(buf: Uint8Array, off: number): Frame {
  if (off === buf.length) return { kind: 'end' };
  if (off + FRAME_BYTES > buf.length) {
    return isZero(buf, off, buf.length) ? { kind: 'end' } : { kind: 'short', reason: 'partial length word' };
  }
  const v = new DataView(buf.buffer, buf.byteOffset + off, FRAME_BYTES);
  const lo = v.getUint32(0, true);
  const hi = v.getUint32(4, true);
  if (lo === 0 && hi === 0) return { kind: 'end' };
  const flags = hi >>> 24;
  const body = (hi & 0xffffff) * TWO_32 + lo;
  const pad = flags & 0x7;
  const end = off + FRAME_BYTES + body + pad;
  if (body < HEADER_BYTES || body > MAX_RECORD_BYTES) {
    return { kind: 'bad', reason: `implausible record length ${body}`, end: off + FRAME_BYTES };
  }
  const wantPad = (8 - (body & 7)) & 7;
  const wantFlags = wantPad ? 0x80 | wantPad : 0;
  if (flags !== wantFlags) {
    return { kind: 'bad', reason: `length word flags 0x${flags.toString(16)} do not match length ${body}`, end };
  }
  if (end > buf.length) return { kind: 'short', reason: `record of ${body} bytes runs past end of file` };
  const type = buf[off + 8]!;
  if (buf[off + 9] !== 0 || buf[off + 10] !== 0 || buf[off + 11] !== 0 || type < 1 || type > 5) {
    return { kind: 'bad', reason: `bad record header (type ${type})`, end };
  }
  const crc = new DataView(buf.buffer, buf.byteOffset + off + 12, 4).getUint32(0, true);
  return { kind: 'record', type, crc, data: buf.subarray(off + 16, off + FRAME_BYTES + body), end };
}

/**
 * etcd's torn-write rule: a crash mid-write leaves whole sectors unwritten (zero),
 * so a record whose body has an all-zero 512-byte sector chunk (split at file
 * sector boundaries) was torn, not corrupted. `start` is the file offset of the
 * length word.
 */
export function hasZeroSector(buf: Uint8Array, start: number, end: number): boolean {
  let off = start + FRAME_BYTES;
  end = Math.min(end, buf.length);
  while (off < end) {
    const chunkEnd = Math.min(end, (Math.floor(off / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    if (isZero(buf, off, chunkEnd)) return true;
    off = chunkEnd;
  }
  return false;
}

const ZERO_CHUNK = Buffer.alloc(64 * 1024);

/** True if buf[start, end) is all zero; long ranges go through native memcmp. */
export function isZero(buf: Uint8Array, start: number, end: number): boolean {
  while (end - start >= ZERO_CHUNK.length) {
    const view = Buffer.from(buf.buffer, buf.byteOffset + start, ZERO_CHUNK.length);
    if (!view.equals(ZERO_CHUNK)) return false;
    start += ZERO_CHUNK.length;
  }
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
