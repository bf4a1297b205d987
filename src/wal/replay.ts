// Reading the log back at start-up: verify every record against the CRC chain,
// rebuild the raft log after the snapshot, and classify any failure as either a
// torn tail (crash mid-write in the last segment: repairable) or corruption
// (anything else: fatal, the member must not start on a log it cannot trust).

import { join } from 'node:path';
import { decodeEntry, decodeHardState } from '../raft/codec.js';
import type { Entry, HardState } from '../raft/types.js';
import { WalCorruptError, WalSnapshotNotFoundError, hex32 } from './errors.js';
import { RecordType, decodeSnapshotMarker, hasZeroSector, isZero, readFrame, recordCrc } from './record.js';
import type { Segment } from './segment.js';
import { nodeWalFs, type WalFs } from './wal-fs.js';

export interface SnapRef {
  index: number;
  term: number;
}

export interface ReplayResult {
  metadata: Uint8Array;
  hardState: HardState;
  /** Entries after the snapshot index, conflicts already resolved. */
  entries: Entry[];
  /** Index of the last entry written (or snapshot marker, if later): names the next cut. */
  lastIndex: number;
  /** CRC chain value after the last good record. */
  crc: number;
  /** Offset just after the last good record of the last segment. */
  tailEnd: number;
  /** Set when the last segment holds bytes past tailEnd that must be cut off. */
  torn?: { offset: number; reason: string };
}

class Replayer {
  metadata: Uint8Array | undefined;
  hardState: HardState = { term: 0, vote: 0n, commit: 0 };
  entries: Entry[] = [];
  lastIndex = 0;
  crc = 0;
  chainStarted = false;
  snapFound = false;

  constructor(
    private readonly snap: SnapRef,
    private readonly dir: string,
  ) {}

  corrupt(file: string, off: number, what: string): WalCorruptError {
    return new WalCorruptError(`WAL corrupt: ${join(this.dir, file)} at offset ${off}: ${what}`, join(this.dir, file), off);
  }

  /** Applies one verified record. Throws WalCorruptError if its content is unusable. */
  apply(type: RecordType, data: Uint8Array, file: string, off: number): void {
    switch (type) {
      case RecordType.Metadata:
        if (this.metadata && !Buffer.from(this.metadata).equals(data)) {
          throw this.corrupt(file, off, 'metadata record differs from the one in earlier segments');
        }
        this.metadata ??= new Uint8Array(data);
        return;
      case RecordType.Entry: {
        let e: Entry;
        try {
          // Copy (as a plain Uint8Array): the entry must not pin the segment buffer.
          e = decodeEntry(new Uint8Array(data));
        } catch (err) {
          throw this.corrupt(file, off, `undecodable entry record (${(err as Error).message})`);
        }
        if (e.index > this.snap.index) {
          const pos = e.index - this.snap.index - 1;
          if (pos > this.entries.length) {
            const have = this.snap.index + this.entries.length;
            throw this.corrupt(file, off, `entry ${e.index} leaves a gap after index ${have}`);
          }
          // Raft truncation: a rewrite at an index already seen drops the old suffix.
          this.entries.length = pos;
          this.entries.push(e);
        }
        this.lastIndex = e.index;
        return;
      }
      case RecordType.State:
        try {
          this.hardState = decodeHardState(data);
        } catch (err) {
          throw this.corrupt(file, off, `undecodable hard state record (${(err as Error).message})`);
        }
        return;
      case RecordType.Snapshot: {
        let m: SnapRef;
        try {
          m = decodeSnapshotMarker(data);
        } catch (err) {
          throw this.corrupt(file, off, `undecodable snapshot marker (${(err as Error).message})`);
        }
        if (m.index === this.snap.index) {
          if (m.term !== this.snap.term) {
            throw new WalSnapshotNotFoundError(
              `WAL snapshot marker at index ${m.index} has term ${m.term}, but the snapshot has term ${this.snap.term} (${join(this.dir, file)} offset ${off})`,
            );
          }
          this.snapFound = true;
        }
        if (m.index > this.lastIndex) this.lastIndex = m.index;
        return;
      }
      default:
        throw this.corrupt(file, off, `unknown record type ${type}`);
    }
  }
}

/**
 * Replays `segs` (consecutive, oldest first, the last one being the newest on disk).
 * Does not modify anything on disk; the caller repairs a torn tail.
 */
export async function replay(dir: string, segs: Segment[], snap: SnapRef, fs: WalFs = nodeWalFs): Promise<ReplayResult> {
  const r = new Replayer(snap, dir);
  let tailEnd = 0;
  let torn: ReplayResult['torn'];

  for (let si = 0; si < segs.length; si++) {
    const seg = segs[si]!;
    const isLast = si === segs.length - 1;
    const buf = await fs.readFile(join(dir, seg.name));
    let off = 0;

    // In the last segment a broken record whose body has zeroed sectors, or that
    // runs past EOF, is what a crash mid-write leaves behind: stop there.
    const tornOrCorrupt = (what: string, end: number, short: boolean): { offset: number; reason: string } => {
      if (isLast && (short || hasZeroSector(buf, off, end))) return { offset: off, reason: what };
      throw r.corrupt(seg.name, off, what);
    };

    for (;;) {
      const f = readFrame(buf, off);
      if (f.kind === 'end') {
        if (!isZero(buf, off, buf.length)) {
          if (!isLast) throw r.corrupt(seg.name, off, 'end-of-log marker followed by non-zero data');
          torn = { offset: off, reason: 'non-zero bytes after the end-of-log marker' };
        }
        break;
      }
      if (f.kind === 'short') {
        torn = tornOrCorrupt(f.reason, buf.length, true);
        break;
      }
      if (f.kind === 'bad') {
        torn = tornOrCorrupt(f.reason, f.end, false);
        break;
      }
      if (f.type === RecordType.Crc) {
        if (!r.chainStarted) {
          r.crc = f.crc;
          r.chainStarted = true;
        } else if (f.crc !== r.crc) {
          throw r.corrupt(seg.name, off, `segment crc record breaks the chain: expected ${hex32(r.crc)}, got ${hex32(f.crc)}`);
        }
      } else {
        const got = recordCrc(f.type, f.data, r.crc);
        if (got !== f.crc) {
          torn = tornOrCorrupt(`crc mismatch: expected ${hex32(f.crc)} (stored), got ${hex32(got)} (computed)`, f.end, false);
          break;
        }
        r.crc = got;
        r.chainStarted = true;
        r.apply(f.type, f.data, seg.name, off);
      }
      off = f.end;
    }
    if (isLast) tailEnd = torn ? torn.offset : off;
  }

  if (!r.metadata) throw new WalCorruptError(`WAL in ${dir} has no metadata record`);
  if (!r.snapFound) {
    throw new WalSnapshotNotFoundError(
      `WAL in ${dir} has no snapshot marker for index ${snap.index} term ${snap.term}; the snapshot and the log do not match`,
    );
  }
  return {
    metadata: r.metadata,
    hardState: r.hardState,
    entries: r.entries,
    lastIndex: Math.max(r.lastIndex, snap.index),
    crc: r.crc,
    tailEnd,
    torn,
  };
}
