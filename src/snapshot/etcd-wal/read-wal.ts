// Reads an etcd 3.4 WAL directory (member/wal/<seq %016x>-<index %016x>.wal) the
// way etcd's wal.ReadAll does from a snapshot marker: the metadata (identical in
// every segment), the last HardState, whether the marker was found, and the
// entries after it (a later entry at an index already seen replaces the tail
// from there, as a new leader's log overwrote it). A torn last record of the last
// segment (crash mid-write) ends the log, as etcd's repair would cut it; any other
// damage is an error naming the file and offset. The files are only read.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeEntry, decodeHardState } from '../../raft/codec.js';
import type { Entry, HardState } from '../../raft/types.js';
import { WireReader } from '../../pb/wire-messages.js';
import { decodeWalMetadata } from '../../wal/index.js';
import { decodeSegment, EtcdRecordType, EtcdWalCorruptError } from './records.js';

const WAL_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export interface WalSnapshotRef {
  index: number;
  term: number;
}

export interface EtcdWal {
  /** etcdserverpb.Metadata: this member's and its cluster's ids. */
  memberId: bigint;
  clusterId: bigint;
  hardState: HardState;
  /** Entries after the snapshot the read started from, in index order. */
  entries: Entry[];
  /** Every snapshot marker the read passed, in order. */
  snapshots: WalSnapshotRef[];
  /** Set when the last segment ended in a torn record that was left out. */
  tornTail?: { file: string; offset: number; reason: string };
}

export class EtcdWalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EtcdWalError';
  }
}

interface WalName {
  name: string;
  seq: bigint;
  index: bigint;
}

export async function walFileNames(dir: string): Promise<WalName[]> {
  const names: WalName[] = [];
  for (const name of await readdir(dir)) {
    const m = WAL_NAME.exec(name);
    if (m) names.push({ name, seq: BigInt('0x' + m[1]), index: BigInt('0x' + m[2]) });
  }
  return names.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** etcd's searchIndex: the last segment whose first index is at or below `index`. */
function firstSegmentFor(names: WalName[], index: number): number {
  for (let i = names.length - 1; i >= 0; i--) if (names[i]!.index <= BigInt(index)) return i;
  return -1;
}

/** walpb.Snapshot { uint64 index = 1; uint64 term = 2; (3.5: raftpb.ConfState conf_state = 3) }. */
export function decodeWalSnapshot(b: Uint8Array): WalSnapshotRef {
  const r = new WireReader(b);
  const s = { index: 0, term: 0 };
  while (!r.done()) {
    const [f, wt] = r.tag();
    if (f === 1) s.index = r.varint();
    else if (f === 2) s.term = r.varint();
    else r.skip(wt);
  }
  return s;
}

/**
 * Reads the WAL from the snapshot `from` (index 0: the beginning). Throws when the
 * WAL holds no marker for a non-zero `from`, as etcd's ErrSnapshotNotFound.
 */
export async function readEtcdWal(dir: string, from: WalSnapshotRef = { index: 0, term: 0 }): Promise<EtcdWal> {
  const names = await walFileNames(dir);
  if (names.length === 0) throw new EtcdWalError(`wal: file not found (no *.wal file in ${dir})`);
  const first = firstSegmentFor(names, from.index);
  if (first < 0) throw new EtcdWalError(`wal: file not found (no segment of ${dir} starts at or before index ${from.index})`);
  const chosen = names.slice(first);
  for (let i = 1; i < chosen.length; i++) {
    if (chosen[i]!.seq !== chosen[i - 1]!.seq + 1n) {
      throw new EtcdWalError(`wal: file sequence numbers do not increase continuously (${chosen[i - 1]!.name}, ${chosen[i]!.name})`);
    }
  }

  let metadata: Uint8Array | undefined;
  let hardState: HardState = { term: 0, vote: 0n, commit: 0 };
  let entries: Entry[] = [];
  const snapshots: WalSnapshotRef[] = [];
  let matched = from.index === 0;
  let crc = 0;
  let tornTail: EtcdWal['tornTail'];
  for (let i = 0; i < chosen.length; i++) {
    const file = join(dir, chosen[i]!.name);
    const seg = decodeSegment(file, await readFile(file), crc);
    crc = seg.crc;
    if (seg.torn) {
      if (i !== chosen.length - 1) throw new EtcdWalCorruptError(file, seg.torn.offset, `${seg.torn.reason}, in a segment that is not the last`);
      tornTail = { file, ...seg.torn };
    }
    for (const rec of seg.records) {
      switch (rec.type) {
        case EtcdRecordType.Entry: {
          const e = decodeEntry(rec.data);
          e.encoded = undefined; // etcd's encoding, not ours: the data is what we keep
          // A copy, so the segment's buffer (64 MB, mostly preallocated zeros) is freed after it is read.
          e.data = e.data.slice();
          if (e.index > from.index) {
            const offset = e.index - from.index - 1;
            if (offset > entries.length) {
              throw new EtcdWalError(
                `wal: slice bounds out of range, snapshot[Index: ${from.index}, Term: ${from.term}], current entry[Index: ${e.index}, Term: ${e.term}], len(ents): ${entries.length}`,
              );
            }
            entries.length = offset;
            entries.push(e);
          }
          break;
        }
        case EtcdRecordType.State:
          hardState = decodeHardState(rec.data);
          break;
        case EtcdRecordType.Metadata:
          if (metadata && Buffer.compare(Buffer.from(metadata), Buffer.from(rec.data)) !== 0) {
            throw new EtcdWalError(`wal: conflicting metadata found (${file})`);
          }
          metadata = rec.data;
          break;
        case EtcdRecordType.Crc:
          break; // checked by decodeSegment
        case EtcdRecordType.Snapshot: {
          const snap = decodeWalSnapshot(rec.data);
          snapshots.push(snap);
          if (snap.index === from.index) {
            if (snap.term !== from.term) throw new EtcdWalError(`wal: snapshot mismatch (index ${snap.index}: term ${snap.term} in the WAL, ${from.term} in the snapshot)`);
            matched = true;
          }
          break;
        }
        default:
          throw new EtcdWalError(`unexpected block type ${rec.type} in ${file}`);
      }
    }
  }
  if (!matched) throw new EtcdWalError(`wal: snapshot not found (index ${from.index}, term ${from.term})`);
  if (!metadata) throw new EtcdWalError(`wal: no metadata record in ${dir}`);
  // Entries past the torn tail are not there; a HardState naming them cannot be kept either.
  const last = entries.length > 0 ? entries[entries.length - 1]!.index : from.index;
  if (hardState.commit > last) hardState = { ...hardState, commit: last };
  entries = entries.slice();
  return { ...decodeWalMetadata(metadata), hardState, entries, snapshots, ...(tornTail ? { tornTail } : {}) };
}
