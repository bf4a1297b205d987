// A follower forwards the proposals made between two Readies to the leader as one
// MsgProp (up to maxSizePerMsg bytes of data), and the leader appends them in
// order, exactly once (issue #12).
import { describe, expect, it } from 'vitest';
import { MemoryStorage, MessageType, RawNode, StateType, type Message } from '../../src/raft/index.js';

const confState = { voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const enc = new TextEncoder();
const dec = new TextDecoder();

function node(id: bigint, maxSizePerMsg?: number, voters = confState.voters): { rn: RawNode; s: MemoryStorage } {
  const s = new MemoryStorage();
  s.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { ...confState, voters } } });
  const rn = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage: s, random: () => 0.5, maxSizePerMsg });
  return { rn, s };
}

/** Member 1 as a follower of leader 2 in term 2. */
function follower(maxSizePerMsg?: number): RawNode {
  const { rn, s } = node(1n, maxSizePerMsg);
  rn.step({ type: MessageType.MsgHeartbeat, to: 1n, from: 2n, term: 2, logTerm: 0, index: 0, entries: [], commit: 1, reject: false, rejectHint: 0 });
  const rd = rn.ready();
  if (rd.hardState) s.setHardState(rd.hardState);
  rn.advance(rd);
  return rn;
}

const props = (ms: Message[]) => ms.filter((m) => m.type === MessageType.MsgProp);
const datas = (m: Message) => m.entries.map((e) => dec.decode(e.data));

describe('forwarded proposals', () => {
  it('proposals made between two Readies reach the leader as one MsgProp, in order', () => {
    const rn = follower();
    for (const d of ['a', 'b', 'c']) rn.propose(enc.encode(d));
    const sent = props(rn.ready().messages);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toBe(2n);
    expect(datas(sent[0]!)).toEqual(['a', 'b', 'c']);
  });

  it('a message carries at most maxSizePerMsg bytes of data; the rest goes in the next one', () => {
    const rn = follower(10);
    for (const d of ['aaaa', 'bbbb', 'cccc', 'dd', 'eeeeeeeeeeee']) rn.propose(enc.encode(d));
    const sent = props(rn.ready().messages);
    expect(sent.map(datas)).toEqual([['aaaa', 'bbbb'], ['cccc', 'dd'], ['eeeeeeeeeeee']]);
  });

  it('only consecutive proposals join: another message in between keeps the order', () => {
    const rn = follower();
    rn.propose(enc.encode('a'));
    rn.readIndex(enc.encode('ctx')); // forwarded to the leader as a MsgReadIndex
    rn.propose(enc.encode('b'));
    const sent = rn.ready().messages.filter((m) => m.type === MessageType.MsgProp || m.type === MessageType.MsgReadIndex);
    expect(sent.map((m) => m.type)).toEqual([MessageType.MsgProp, MessageType.MsgReadIndex, MessageType.MsgProp]);
  });

  it('the leader appends a joined MsgProp entry by entry, once', () => {
    const { rn: leader } = node(2n, undefined, [2n]); // the sole voter: leader at once
    leader.campaign();
    expect(leader.status().softState.raftState).toBe(StateType.Leader);
    leader.advance(leader.ready());
    const rn = follower();
    for (const d of ['x', 'y']) rn.propose(enc.encode(d));
    const [m] = props(rn.ready().messages);
    leader.step(m!);
    const appended = leader.ready().entries.map((e) => dec.decode(e.data));
    expect(appended).toEqual(['x', 'y']);
  });
});
