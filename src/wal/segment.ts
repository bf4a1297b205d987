// Segment files: <seq %016x>-<index %016x>.wal, where seq counts segments from 0
// and index is the raft index of the first entry the segment was cut for (the
// entry after the last one written before it). The names are what lets open()
// start reading at the segment that holds a snapshot without reading older ones.

import { WalCorruptError, WalSnapshotNotFoundError } from './errors.js';
import { nodeWalFs, type WalFs } from './wal-fs.js';

export interface Segment {
  seq: number;
  index: number;
  name: string;
}

const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

const hex16 = (n: number): string => n.toString(16).padStart(16, '0');

export function segmentName(seq: number, index: number): string {
  return `${hex16(seq)}-${hex16(index)}.wal`;
}

export function parseSegmentName(name: string): Segment | undefined {
  const m = NAME_RE.exec(name);
  if (!m) return undefined;
  const seq = Number.parseInt(m[1]!, 16);
  const index = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(index)) return undefined;
  return { seq, index, name };
}

/** Segments in `dir`, oldest first. Other files (*.broken, *.tmp) are ignored. */
export async function listSegments(dir: string, fs: WalFs = nodeWalFs): Promise<Segment[]> {
  const names = await fs.readdir(dir);
  const segs: Segment[] = [];
  for (const n of names) {
    const s = parseSegmentName(n);
    if (s) segs.push(s);
  }
  return segs.sort((a, b) => a.seq - b.seq);
}

/**
 * The segments to replay for a snapshot at `index`: from the newest segment whose
 * first index is ≤ index (it may also hold entries before the snapshot; those are
 * skipped) to the end. Sequence numbers must be gap-free, else a file was lost.
 */
export function segmentsFrom(segs: Segment[], index: number, dir: string): Segment[] {
  let start = -1;
  for (let i = segs.length - 1; i >= 0; i--) {
    if (segs[i]!.index <= index) {
      start = i;
      break;
    }
  }
  if (start < 0) {
    throw new WalSnapshotNotFoundError(
      `no WAL segment in ${dir} reaches back to snapshot index ${index}` +
        (segs.length ? ` (oldest is ${segs[0]!.name})` : ' (no segments)'),
    );
  }
  const picked = segs.slice(start);
  for (let i = 1; i < picked.length; i++) {
    if (picked[i]!.seq !== picked[i - 1]!.seq + 1) {
      throw new WalCorruptError(
        `WAL segments out of sequence in ${dir}: ${picked[i - 1]!.name} is followed by ${picked[i]!.name}`,
      );
    }
  }
  return picked;
}
