// Where each entry this WAL wrote sits in its segment files, and reading entries
// back from there: the durable store behind the Raft log's cold runs
// (raft/cold-run.ts), so that old entries need not stay in memory.
//
// The WAL records an entry's place once its write is durable: the segment, the
// record's offset and length, and the checksum chain's value before it (a
// record's CRC covers the chain, so that value is what lets one record be
// checked alone). A read opens nothing: each segment is read through a handle
// opened when the WAL started writing it, kept until no entry it holds can be
// asked for again. A segment the WAL deletes meanwhile (after a snapshot) stays
// readable through that handle, so the disk space of such a segment comes back
// only once its entries are released here, as their memory did before.
//
// Only entries written by this process are known here; entries replayed at start
// stay in memory (MemoryStorage packs them), as does everything when the file
// system cannot read on the calling thread.

import { decodeEntry } from '../raft/codec.js';
import type { ColdEntries } from '../raft/cold-run.js';
import type { Entry } from '../raft/types.js';
import { readFrame, recordCrc, RecordType } from './record.js';
import type { WalFile } from './wal-fs.js';

/** Entries per block of the position table (one block's arrays: ~80 KiB). */
const BLOCK = 4096;
/** The most one read brings in at once (a run of old entries is ~300 KiB at etcd's sizes). */
const MAX_READ_BYTES = 8 << 20;

/** Positions of BLOCK consecutive indexes (bytes 0: not written by this process). */
class Block {
  readonly seq = new Uint32Array(BLOCK);
  readonly offset = new Float64Array(BLOCK);
  readonly bytes = new Uint32Array(BLOCK);
  readonly crcBefore = new Uint32Array(BLOCK);
}

/** Where one entry's record is (a row of the position table). */
interface Position {
  seq: number;
  offset: number;
  bytes: number;
  crcBefore: number;
}

interface Segment {
  file: WalFile & { readSync(buf: Uint8Array, offset: number, length: number, position: number): number };
  /** The highest entry index written to it. */
  last: number;
}

/** Thrown when an entry cannot be read back as written: the member must stop. */
export class WalReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WalReadError';
  }
}

export class WalEntryReader implements ColdEntries {
  private readonly blocks = new Map<number, Block>();
  private readonly segments = new Map<number, Segment>();
  /** The segment being written (never closed here before the WAL closes). */
  private current = -1;
  /** Entries at or below it were released. */
  private released = 0;
  private closed = false;
  /** Called with the error before a failed read throws (the member stops). */
  onFailure: (err: Error) => void = () => {};

  /** The WAL writes segment `seq` from now on; `file` reads it (undefined: it cannot be read back). */
  addSegment(seq: number, file: WalFile | undefined): void {
    this.current = seq;
    if (file?.readSync !== undefined) this.segments.set(seq, { file: file as Segment['file'], last: 0 });
  }

  /** Entry `index`'s record is durable in segment `seq` at [offset, offset + bytes), the chain at `crcBefore` before it. */
  record(index: number, seq: number, offset: number, bytes: number, crcBefore: number): void {
    const seg = this.segments.get(seq);
    if (seg === undefined || index <= this.released) return;
    let b = this.blocks.get(Math.floor(index / BLOCK));
    if (b === undefined) this.blocks.set(Math.floor(index / BLOCK), (b = new Block()));
    const k = index % BLOCK;
    b.seq[k] = seq;
    b.offset[k] = offset;
    b.bytes[k] = bytes;
    b.crcBefore[k] = crcBefore;
    if (index > seg.last) seg.last = index;
  }

  has(first: number, last: number): boolean {
    if (this.closed || first <= this.released) return false;
    for (let i = first; i <= last; i++) {
      const b = this.blocks.get(Math.floor(i / BLOCK));
      const k = i % BLOCK;
      if (b === undefined || b.bytes[k] === 0 || !this.segments.has(b.seq[k]!)) return false;
    }
    return true;
  }

  read(lo: number, hi: number): Entry[] {
    // A member shutting down may still step a message after its WAL closed: not a failure of the disk.
    if (this.closed) throw new WalReadError(`reading log entries ${lo}..${hi - 1}: the WAL is closed`);
    try {
      return this.readRange(lo, hi);
    } catch (err) {
      const e = err instanceof WalReadError ? err : new WalReadError(`reading log entries ${lo}..${hi - 1} back from the WAL: ${(err as Error).message}`, { cause: err });
      this.onFailure(e);
      throw e;
    }
  }

  release(index: number): void {
    if (index <= this.released) return;
    this.released = index;
    for (const key of [...this.blocks.keys()]) if ((key + 1) * BLOCK - 1 <= index) this.blocks.delete(key);
    for (const [seq, seg] of this.segments) {
      if (seq !== this.current && seg.last <= index) {
        this.segments.delete(seq);
        seg.file.close().catch(() => {});
      }
    }
  }

  /** Closes every handle (the WAL is closing). */
  async close(): Promise<void> {
    this.closed = true;
    const segs = [...this.segments.values()];
    this.segments.clear();
    this.blocks.clear();
    await Promise.all(segs.map((s) => s.file.close().catch(() => {})));
  }

  private readRange(lo: number, hi: number): Entry[] {
    const out: Entry[] = [];
    let i = lo;
    while (i < hi) {
      // One read for consecutive entries of one segment, in file order.
      const group = [this.position(i)];
      const first = group[0]!;
      let end = first.offset + first.bytes;
      for (let j = i + 1; j < hi; j++) {
        const p = this.position(j);
        if (p.seq !== first.seq || p.offset < end || p.offset + p.bytes - first.offset > MAX_READ_BYTES) break;
        group.push(p);
        end = p.offset + p.bytes;
      }
      const buf = this.readAt(first.seq, first.offset, end - first.offset);
      for (const p of group) out.push(this.entryAt(i++, p, buf, first.offset));
    }
    return out;
  }

  private position(i: number): Position {
    const b = this.blocks.get(Math.floor(i / BLOCK));
    const k = i % BLOCK;
    if (i <= this.released || b === undefined || b.bytes[k] === 0) throw new WalReadError(`log entry ${i} is not in the WAL's positions`);
    return { seq: b.seq[k]!, offset: b.offset[k]!, bytes: b.bytes[k]!, crcBefore: b.crcBefore[k]! };
  }

  private readAt(seq: number, offset: number, length: number): Uint8Array {
    const seg = this.segments.get(seq);
    if (seg === undefined) throw new WalReadError(`WAL segment ${seq} is no longer open for reading`);
    const buf = new Uint8Array(length);
    for (let done = 0; done < length; ) {
      const n = seg.file.readSync(buf, done, length - done, offset + done);
      if (n === 0) throw new WalReadError(`WAL segment ${seq} ends before ${offset + length} (read ${offset + done})`);
      done += n;
    }
    return buf;
  }

  /** Entry n, at `p`, from `buf`, which holds the segment's bytes from `base` on; checked against the chain. */
  private entryAt(n: number, p: Position, buf: Uint8Array, base: number): Entry {
    const at = p.offset - base;
    const frame = readFrame(buf.subarray(0, at + p.bytes), at);
    if (frame.kind !== 'record' || frame.type !== RecordType.Entry || frame.end !== at + p.bytes) {
      throw new WalReadError(`WAL segment ${p.seq} at ${p.offset}: no entry record where entry ${n} was written (${frame.kind})`);
    }
    if (recordCrc(RecordType.Entry, frame.data, p.crcBefore) >>> 0 !== frame.crc >>> 0) {
      throw new WalReadError(`WAL segment ${p.seq} at ${p.offset}: entry ${n}'s record fails its CRC`);
    }
    const e = decodeEntry(frame.data);
    if (e.index !== n) throw new WalReadError(`WAL segment ${p.seq} at ${p.offset}: entry ${n}'s record holds entry ${e.index}`);
    return e;
  }
}
