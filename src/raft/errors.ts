// Errors the Raft core reports to its driver. Each is a distinct subclass so callers
// can branch with `instanceof` rather than comparing message strings.

/** The proposal was not accepted (no leader, transfer in progress, size limit, removed). */
export class ErrProposalDropped extends Error {
  constructor(msg = 'raft proposal dropped') {
    super(msg);
    this.name = 'ErrProposalDropped';
  }
}

/** The requested index is older than the storage's first index (compacted away). */
export class ErrCompacted extends Error {
  constructor(msg = 'requested index is unavailable due to compaction') {
    super(msg);
    this.name = 'ErrCompacted';
  }
}

/** The requested index is beyond what storage holds. */
export class ErrUnavailable extends Error {
  constructor(msg = 'requested entry at index is unavailable') {
    super(msg);
    this.name = 'ErrUnavailable';
  }
}

/** A snapshot at or below the current snapshot index was offered. */
export class ErrSnapOutOfDate extends Error {
  constructor(msg = 'requested index is older than the existing snapshot') {
    super(msg);
    this.name = 'ErrSnapOutOfDate';
  }
}

/** Storage is producing a snapshot and cannot hand one out right now; retry later. */
export class ErrSnapshotTemporarilyUnavailable extends Error {
  constructor(msg = 'snapshot is temporarily unavailable') {
    super(msg);
    this.name = 'ErrSnapshotTemporarilyUnavailable';
  }
}

/** A message type that only the core itself may generate was passed to step(). */
export class ErrStepLocalMsg extends Error {
  constructor(msg = 'raft: cannot step raft local message') {
    super(msg);
    this.name = 'ErrStepLocalMsg';
  }
}
