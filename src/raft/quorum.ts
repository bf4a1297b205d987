// Majority arithmetic: the committed index of a voter set and the outcome of a vote.

import type { NodeId } from './types.js';

export type VoteResult = 'pending' | 'lost' | 'won';

// Scratch space reused across calls: committedIndex runs on every acknowledgement.
const scratch: number[] = [];

/** The largest index that a majority of voters have (match ≥ index). */
export function committedIndex(voters: Iterable<NodeId>, matchOf: (id: NodeId) => number): number {
  let n = 0;
  for (const id of voters) scratch[n++] = matchOf(id);
  if (n === 0) return Number.MAX_SAFE_INTEGER; // no voters: no constraint (mirrors etcd)
  const arr = scratch;
  // Insertion sort descending: voter sets are tiny.
  for (let i = 1; i < n; i++) {
    const v = arr[i];
    let j = i - 1;
    while (j >= 0 && arr[j] < v) {
      arr[j + 1] = arr[j];
      j--;
    }
    arr[j + 1] = v;
  }
  return arr[(n >> 1)];
}

export function voteResult(voters: Iterable<NodeId>, votes: Map<NodeId, boolean>): VoteResult {
  let n = 0;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    n++;
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  if (n === 0) return 'won';
  const q = (n >> 1) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}
