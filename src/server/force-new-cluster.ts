// --force-new-cluster (etcd's restartAsStandaloneNode, disaster recovery): a
// member restarted with it forgets every other member. Its uncommitted log tail
// is dropped; then one ConfChange per other member (RemoveNode), and an AddNode
// for itself if it is not a member, are appended at its last committed index and
// committed by fiat. Applied like any conf change, they leave a one-member
// cluster that elects itself and keeps every key; others can be added back later.

import { ConfChangeType, decodeConfChange, encodeConfChange, EntryType, type ConfState, type Entry } from '../raft/index.js';

/** The members a log describes: the snapshot's ConfState, then every conf change entry in order. */
export function membersOf(confState: ConfState | undefined, entries: Entry[]): Set<bigint> {
  const ids = new Set<bigint>([...(confState?.voters ?? []), ...(confState?.learners ?? [])]);
  for (const e of entries) {
    if (e.type !== EntryType.ConfChange) continue;
    const cc = decodeConfChange(e.data);
    if (cc.type === ConfChangeType.AddNode || cc.type === ConfChangeType.AddLearnerNode) ids.add(cc.nodeId);
    else if (cc.type === ConfChangeType.RemoveNode) ids.delete(cc.nodeId);
  }
  return ids;
}

/**
 * The entries that make `self` the only member, from index `commit + 1` at
 * `term`. `selfContext` is the member record an AddNode for self carries.
 */
export function standaloneEntries(opts: {
  self: bigint;
  members: Set<bigint>;
  commit: number;
  term: number;
  selfContext: Uint8Array;
}): Entry[] {
  const out: Entry[] = [];
  let index = opts.commit;
  const push = (type: ConfChangeType, nodeId: bigint, context: Uint8Array): void => {
    out.push({ term: opts.term, index: ++index, type: EntryType.ConfChange, data: encodeConfChange({ type, nodeId, context }), encoded: undefined });
  };
  for (const id of [...opts.members].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (id !== opts.self) push(ConfChangeType.RemoveNode, id, new Uint8Array(0));
  }
  if (!opts.members.has(opts.self)) push(ConfChangeType.AddNode, opts.self, opts.selfContext);
  return out;
}
