// Which of a Ready's committed entries the driver may apply while that Ready's
// own entries are being written (as etcd does: a write then waits for one fsync,
// not two), and which only after.
//
// Those already on disk before this write may go early. Not those this Ready
// rewrites: a new leader's entries replacing uncommitted ones on disk can come
// committed in the same Ready, at indexes already written, and what is on disk
// there until the write ends is the old entry.

import type { Entry, Ready } from '../raft/types.js';

/** The empty list of entries, shared (never mutated). */
export const NO_ENTRIES: Entry[] = [];

/**
 * The committed entries already on disk (the WAL holds everything up to
 * `persistedIndex`) and not rewritten by this Ready. No copies in the common
 * cases: all of them (the Ready's own array) or none.
 */
export function committedOnDisk(rd: Pick<Ready, 'committedEntries' | 'entries'>, persistedIndex: number): Entry[] {
  const committed = rd.committedEntries;
  if (committed.length === 0) return NO_ENTRIES;
  const onDisk = rd.entries.length > 0 ? Math.min(persistedIndex, rd.entries[0]!.index - 1) : persistedIndex;
  let durable = 0;
  while (durable < committed.length && committed[durable]!.index <= onDisk) durable++;
  if (durable === committed.length) return committed;
  return durable === 0 ? NO_ENTRIES : committed.slice(0, durable);
}

/** The committed entries after `early` (what committedOnDisk gave): applied once the write is done. */
export function committedAfter(rd: Pick<Ready, 'committedEntries'>, early: Entry[]): Entry[] {
  if (early === rd.committedEntries) return NO_ENTRIES;
  return early.length === 0 ? rd.committedEntries : rd.committedEntries.slice(early.length);
}
