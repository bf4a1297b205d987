// The records of the WAL's next write, and the log as those records leave it:
// its last index and last hard state. A request's records are added whole or
// not at all (one that cannot be encoded fails alone), and each entry's place in
// the batch is kept until the write lands, so that the entry can later be read
// back from the file (WalEntryReader: the Raft log's cold runs).

import { encodeEntry, encodeHardState } from '../raft/codec.js';
import type { Entry, HardState } from '../raft/types.js';
import { hardStateEqual, isEmptyHardState } from '../raft/util.js';
import type { WalEntryReader } from './entry-reader.js';
import { RecordBatch, RecordType, encodeSnapshotMarker } from './record.js';
import type { SnapRef } from './replay.js';

export class NextWrite {
  private readonly batch: RecordBatch;
  /** Entry records in the batch: index, offset in the batch, bytes, chain value before; four numbers each. */
  private readonly entries: number[] = [];
  private last: number;
  private hs: HardState;

  /** `crc`: the chain value the log ends with; `lastIndex`, `hardState`: the last ones it holds. */
  constructor(crc: number, lastIndex: number, hardState: HardState) {
    this.batch = new RecordBatch(crc);
    this.last = lastIndex;
    this.hs = { ...hardState };
  }

  /** The last log index once this batch is written (a snapshot marker's counts). */
  get lastIndex(): number {
    return this.last;
  }

  /** The last hard state once this batch is written. */
  get hardState(): HardState {
    return this.hs;
  }

  get length(): number {
    return this.batch.length;
  }

  bytes(): Uint8Array {
    return this.batch.bytes();
  }

  /**
   * Adds one request's records: `entries`, then `hardState` unless undefined or
   * unchanged, then a snapshot marker. If they cannot be encoded (an index that
   * is not a safe integer), leaves everything as it was and returns the error.
   */
  add(hardState: HardState | undefined, entries: readonly Entry[], snap: SnapRef | undefined): unknown {
    const mark = this.batch.mark();
    const entriesMark = this.entries.length;
    const last = this.last;
    const hs = this.hs;
    try {
      this.encode(hardState, entries, snap);
      return undefined;
    } catch (err) {
      this.batch.rollback(mark);
      this.entries.length = entriesMark;
      this.last = last;
      this.hs = hs;
      return err ?? new Error('WAL: encoding failed');
    }
  }

  /** The batch was written to segment `seq` at file offset `base`: where its entries are; the batch starts over. */
  written(reader: WalEntryReader, seq: number, base: number): void {
    const b = this.entries;
    for (let k = 0; k < b.length; k += 4) reader.record(b[k]!, seq, base + b[k + 1]!, b[k + 2]!, b[k + 3]!);
    b.length = 0;
    this.batch.reset();
  }

  /** The batch's write failed: nothing of it will be read back. */
  forgetEntries(): void {
    this.entries.length = 0;
  }

  /**
   * Replaces the batch with a new segment's header: the chain value, the
   * metadata, the last hard state (unless empty). Call only with no entries in
   * the batch.
   */
  segmentHeader(metadata: Uint8Array): void {
    this.batch.reset();
    this.batch.addCrc();
    this.batch.add(RecordType.Metadata, metadata);
    if (!isEmptyHardState(this.hs)) this.batch.add(RecordType.State, encodeHardState(this.hs));
  }

  /** Empties the batch (its records were written as a segment header). */
  reset(): void {
    this.batch.reset();
  }

  private encode(hardState: HardState | undefined, entries: readonly Entry[], snap: SnapRef | undefined): void {
    for (const e of entries) {
      const at = this.batch.length;
      const crcBefore = this.batch.crc;
      this.batch.add(RecordType.Entry, encodeEntry(e));
      this.entries.push(e.index, at, this.batch.length - at, crcBefore);
      this.last = e.index;
    }
    if (hardState && !hardStateEqual(hardState, this.hs)) {
      this.batch.add(RecordType.State, encodeHardState(hardState));
      this.hs = { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
    }
    if (snap) {
      this.batch.add(RecordType.Snapshot, encodeSnapshotMarker(snap.index, snap.term));
      if (snap.index > this.last) this.last = snap.index;
    }
  }
}
