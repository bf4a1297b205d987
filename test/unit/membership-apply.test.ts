// The applier's conf-change path: a valid change updates the membership and Raft
// and answers its proposer with the member list; a refused one is applied to
// Raft as an empty change and answered with etcd's error; a copy of a change
// already applied (the proposer's resubmission) does nothing; the member's own
// removal calls removedSelf.
import { afterEach, describe, expect, it } from 'vitest';
import { encodeConfChange } from '../../src/raft/codec.js';
import { type ConfChange, ConfChangeType, type Entry, EntryType } from '../../src/raft/types.js';
import { encodeMemberContext, type Member } from '../../src/server/membership.js';
import { apply, rig } from './apply-helpers.js';
import { TmpStores } from './mvcc-helpers.js';

const stores = new TmpStores();
afterEach(() => stores.cleanup());

function ccEntry(index: number, type: ConfChangeType, id: bigint, peerURLs: string[], reqId?: bigint): Entry {
  const cc: ConfChange = {
    type,
    nodeId: id,
    context: encodeMemberContext({ id, name: '', peerURLs, isLearner: type === ConfChangeType.AddLearnerNode }, reqId),
  };
  return { term: 1, index, type: EntryType.ConfChange, data: encodeConfChange(cc), encoded: undefined };
}

describe('applier: conf changes', () => {
  it('applies, refuses with etcd errors, ignores resubmitted copies, and notices its own removal', async () => {
    const toRaft: bigint[] = [];
    let removed = 0;
    const r = await rig(stores, {
      applyConfChange: (cc) => {
        toRaft.push(cc.nodeId);
        return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } as never;
      },
      removedSelf: () => removed++,
    });
    await apply(
      r,
      ccEntry(1, ConfChangeType.AddNode, 1n, ['http://h:1']), // bootstrap: no request id
      ccEntry(2, ConfChangeType.AddNode, 2n, ['http://h:2'], 100n),
      ccEntry(3, ConfChangeType.AddNode, 3n, ['http://h:2'], 101n), // same peer URLs
      ccEntry(4, ConfChangeType.UpdateNode, 2n, ['http://h:22'], 102n),
      ccEntry(5, ConfChangeType.UpdateNode, 2n, ['http://h:23'], 103n),
      ccEntry(6, ConfChangeType.UpdateNode, 2n, ['http://h:22'], 102n), // a late copy of 4
      ccEntry(7, ConfChangeType.RemoveNode, 1n, [], 104n),
    );
    expect(r.fatal).not.toHaveBeenCalled();
    expect(r.applier.applied).toBe(7);
    expect(toRaft).toEqual([1n, 2n, 0n, 2n, 2n, 0n, 1n]);
    const ok = r.delivered.get(100n);
    expect(ok?.ok && (ok.value as Member[]).map((m) => m.id)).toEqual([1n, 2n]);
    const refused = r.delivered.get(101n);
    expect(refused?.ok === false && refused.error.message).toBe('etcdserver: Peer URLs already exists');
    expect(r.delivered.has(104n)).toBe(true);
    // The late copy did not undo the later update.
    const last = r.delivered.get(104n);
    expect(last?.ok && (last.value as Member[]).map((m) => m.peerURLs)).toEqual([['http://h:23']]);
    expect(removed).toBe(1);
  });
});
