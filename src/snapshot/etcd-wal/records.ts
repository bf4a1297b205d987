// etcd's WAL record framing, read-only (learned from etcd 3.4's wal/encoder.go and
// decoder.go; our own code). A segment is a run of frames:
//
//   8 bytes  little-endian length word: bits 0..55 = n, the size of the encoded
//            walpb.Record; when n is not a multiple of 8 the top byte is
//            0x80 | padBytes (a negative int64 in Go)
//   n bytes  walpb.Record { int64 type = 1; uint32 crc = 2; bytes data = 3; }
//   pad      zero bytes up to the next multiple of 8
//
// A zero length word (preallocated space) or the end of the file ends a segment.
// The CRC is CRC-32C over the data of every record so far, chained across
// segments and records (the type is not folded in, unlike our WAL); a crc record
// does not advance the chain but carries its value at the start of each segment.

import { WireReader } from '../../pb/wire-messages.js';
import { crc32c } from '../../util/crc32c.js';

export enum EtcdRecordType {
  Metadata = 1,
  Entry = 2,
  State = 3,
  Crc = 4,
  Snapshot = 5,
}

export interface EtcdRecord {
  type: number;
  crc: number;
  data: Uint8Array;
}

/** etcd refuses records of 10 MiB or more (maxWALEntrySizeLimit). */
export const MAX_RECORD_BYTES = 10 * 1024 * 1024;
const FRAME = 8;
const SECTOR = 512;

/** A segment that is damaged somewhere other than a torn tail. */
export class EtcdWalCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`etcd WAL ${file} is corrupt at offset ${offset}: ${reason}`);
    this.name = 'EtcdWalCorruptError';
  }
}

export function decodeRecord(b: Uint8Array): EtcdRecord {
  const r = new WireReader(b);
  const rec: EtcdRecord = { type: 0, crc: 0, data: new Uint8Array(0) };
  while (!r.done()) {
    const [f, wt] = r.tag();
    if (f === 1) rec.type = r.varint();
    else if (f === 2) rec.crc = r.varint() >>> 0;
    else if (f === 3) rec.data = r.bytes();
    else r.skip(wt);
  }
  return rec;
}

/** What one segment held: its records, and whether it ended in a torn write. */
export interface SegmentRecords {
  records: EtcdRecord[];
  /** Offset after the last valid record. */
  validEnd: number;
  /** Set when the segment ends in a record a crash left half-written (only meaningful for the last segment). */
  torn?: { offset: number; reason: string };
}

/**
 * etcd's isTornEntry: a record whose bytes hold a 512-byte sector (or the part of
 * one the record covers) that is all zeros was cut by a crash mid-write.
 */
function hasZeroSector(buf: Uint8Array, start: number, end: number): boolean {
  let off = start;
  while (off < end) {
    const chunkEnd = Math.min(end, off + (SECTOR - (off % SECTOR)));
    let zero = true;
    for (let i = off; i < chunkEnd; i++) {
      if (buf[i] !== 0) {
        zero = false;
        break;
      }
    }
    if (zero) return true;
    off = chunkEnd;
  }
  return false;
}

/**
 * Decodes the frames of one segment, checking each record's CRC against the
 * chain (`crc` in: the chain value before this segment; the returned chain value
 * is after it). A damaged record is a torn tail when it runs past the end of the
 * file or holds a zeroed sector, as etcd decides; anything else throws.
 */
export function decodeSegment(file: string, buf: Uint8Array, crcIn: number): SegmentRecords & { crc: number } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: EtcdRecord[] = [];
  let crc = crcIn;
  let off = 0;
  const stopTorn = (reason: string) => ({ records, validEnd: off, crc, torn: { offset: off, reason } });
  while (off + FRAME <= buf.length) {
    const lo = dv.getUint32(off, true);
    const hi = dv.getUint32(off + 4, true);
    if (lo === 0 && hi === 0) break; // preallocated space: end of the segment
    const recBytes = (hi & 0x00ffffff) * 0x1_0000_0000 + lo;
    const padBytes = hi & 0x80000000 ? (hi >>> 24) & 0x7 : 0;
    if (recBytes >= MAX_RECORD_BYTES - padBytes) {
      throw new EtcdWalCorruptError(file, off, `record of ${recBytes} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit (wal: max entry size limit exceeded)`);
    }
    const start = off + FRAME;
    const end = start + recBytes + padBytes;
    if (end > buf.length) return stopTorn(`record of ${recBytes} bytes runs past the end of the file (${buf.length} bytes)`);
    let rec: EtcdRecord;
    try {
      rec = decodeRecord(buf.subarray(start, start + recBytes));
    } catch (err) {
      if (hasZeroSector(buf, start, end)) return stopTorn('torn record (zeroed sector)');
      throw new EtcdWalCorruptError(file, off, `record does not decode: ${(err as Error).message}`);
    }
    if (rec.type !== EtcdRecordType.Crc) {
      const next = crc32c(rec.data, crc);
      if (next !== rec.crc) {
        if (hasZeroSector(buf, start, end)) return stopTorn('torn record (zeroed sector)');
        throw new EtcdWalCorruptError(
          file,
          off,
          `walpb: crc mismatch (record type ${rec.type}: stored ${rec.crc.toString(16)}, computed ${next.toString(16)})`,
        );
      }
      crc = next;
    } else {
      // A segment's first record: the chain so far (0 only in the very first segment).
      if (crc !== 0 && rec.crc !== crc) {
        throw new EtcdWalCorruptError(file, off, `wal: crc mismatch (segment starts with chain ${rec.crc.toString(16)}, previous segment ended at ${crc.toString(16)})`);
      }
      crc = rec.crc;
    }
    records.push(rec);
    off = end;
  }
  return { records, validEnd: off, crc };
}
