// LevelDB's log format (db/log_format.h, log_reader.cc), which its MANIFEST is
// written in: 32 KiB blocks of records, each with a 7-byte header (masked
// CRC-32C of type and payload, u16 length, type); a record that does not fit
// in a block is split into FIRST/MIDDLE/LAST fragments; a block tail shorter
// than a header is zero padding.
//
// The file is read as it grows (a live MANIFEST), one block at a time: in the
// last block, a record cut off by the end of what was read, or whose checksum
// fails at that very end, is one still being written and ends the log; a bad
// record anywhere else is damage.

import { copyBytes, crcMatches, fixed32 } from './coding.js';

export const LOG_BLOCK = 32768;
const HEADER = 7;
const ZERO = 0, FULL = 1, FIRST = 2, MIDDLE = 3, LAST = 4;

/** Reassembles fragmented records across blocks. */
export class LogRecordReader {
  private parts: Uint8Array[] | undefined;
  private ended = false;

  constructor(private readonly where: string) {}

  /**
   * The records completed by one block (`last`: the final, possibly partial,
   * block of what was read). `at` is the block's file offset, for errors.
   */
  block(block: Uint8Array, at: number, last: boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    let pos = 0;
    while (!this.ended && block.length - pos >= HEADER) {
      const len = block[pos + 4]! | (block[pos + 5]! << 8);
      const type = block[pos + 6]!;
      if (type === ZERO && len === 0) break; // padding to the block's end
      const end = pos + HEADER + len;
      if (end > block.length) {
        if (last) { this.ended = true; break; } // a payload still being written
        throw new Error(`leveldb: record crosses a block in ${this.where} at ${at + pos}`);
      }
      if (!crcMatches(block.subarray(pos + 6, end), fixed32(block, pos))) {
        if (last && end === block.length) { this.ended = true; break; } // the last write, seen half done
        throw new Error(`leveldb: record checksum mismatch in ${this.where} at ${at + pos}`);
      }
      const payload = block.subarray(pos + HEADER, end);
      switch (type) {
        case FULL: this.parts = undefined; out.push(copyBytes(payload)); break;
        case FIRST: this.parts = [copyBytes(payload)]; break;
        case MIDDLE: this.parts?.push(copyBytes(payload)); break;
        case LAST:
          if (this.parts) { this.parts.push(payload); out.push(new Uint8Array(Buffer.concat(this.parts))); }
          this.parts = undefined;
          break;
        default: throw new Error(`leveldb: bad record type ${type} in ${this.where} at ${at + pos}`);
      }
      pos = end;
    }
    if (last) this.ended = true;
    return out;
  }
}
