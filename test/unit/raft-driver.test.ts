// The Raft driver (src/server/raft-node.ts, its Ready loop ready-loop.ts) over in-memory ports: three real
// RaftNode instances, a manual clock, logs that record what was "fsynced", and a
// network that delivers only when told. Checks the Ready-loop contracts the driver
// promises, on every step (quorum durability before apply, acknowledgements only
// after the save they promise) and in targeted scenarios (held saves).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Entry, type Message, MessageType } from '../../src/raft/index.js';
import { DriverCluster, type DriverMember } from '../sim/driver-cluster.js';
import { LEADER_ALONE_STREAK, LEADER_INLINE_MAX_LAST_MS } from '../../src/server/inline-writes.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const IDS = [1n, 2n, 3n];

let violations: string[] = [];

/** A cluster whose every onCommitted and every sent message is checked against the driver's contracts. */
function checkedCluster(seed = 1, ids = IDS): DriverCluster {
  const c = new DriverCluster(ids, { seed });
  const quorum = Math.floor(ids.length / 2) + 1;
  // The first entries are the bootstrap conf changes: committed by fiat, not by replication.
  const bootstrap = ids.length;
  const durableOn = (m: DriverMember, e: Entry): boolean => m.log.entry(e.index)?.term === e.term;
  for (const member of c.members) {
    member.onCommitted = (self, entries) => {
      for (const e of entries) {
        if (!durableOn(self, e)) violations.push(`${self.id} applied ${e.index}/${e.term} before its own save`);
        const copies = c.members.filter((m) => durableOn(m, e)).length;
        if (e.index > bootstrap && copies < quorum) {
          violations.push(`${self.id} applied ${e.index}/${e.term} durable on ${copies} member(s) only`);
        }
      }
    };
  }
  c.net.onSend = (m: Message) => {
    const from = c.member(m.from);
    if (m.type === MessageType.MsgAppResp && !m.reject) {
      const e = from.log.entry(m.index);
      const coveredBySnapshot = (from.log.snapshot?.metadata.index ?? 0) >= m.index;
      if (!e && !coveredBySnapshot && m.index > 0) {
        violations.push(`${m.from} acknowledged index ${m.index} before it was durable (durable up to ${from.log.lastIndex})`);
      }
    }
    if (m.type === MessageType.MsgVoteResp && !m.reject) {
      const hs = from.log.hardState;
      if (hs.term !== m.term || hs.vote !== m.to) violations.push(`${m.from} granted a vote in term ${m.term} before saving it`);
    }
  };
  return c;
}

let cluster: DriverCluster | undefined;

afterEach(async () => {
  for (const m of cluster?.members ?? []) m.log.release();
  await cluster?.stop();
  cluster = undefined;
  const seen = violations;
  violations = [];
  expect(seen).toEqual([]);
});

async function started(seed = 1): Promise<{ c: DriverCluster; leader: DriverMember; followers: DriverMember[] }> {
  const c = (cluster = checkedCluster(seed));
  c.start();
  const leader = await c.electLeader();
  return { c, leader, followers: c.members.filter((m) => m !== leader) };
}

/** The append messages `from` sent that carry an entry with `data`. */
function sentAppendsWith(c: DriverCluster, from: DriverMember, data: string): Message[] {
  return c.net.sent.filter(
    (m) => m.from === from.id && m.type === MessageType.MsgApp && m.entries.some((e) => dec.decode(e.data) === data),
  );
}

function pendingHas(member: DriverMember, data: string): boolean {
  return member.log.pending.some((w) => w.kind === 'save' && w.entries.some((e) => dec.decode(e.data) === data));
}

describe('RaftNode over in-memory ports', () => {
  it('elects a leader with ticks of a manual clock and replicates proposals to every applier, in order', async () => {
    const { c, leader, followers } = await started();
    expect(c.leaders()).toEqual([leader]);
    leader.node.propose(enc.encode('a'));
    leader.node.propose(enc.encode('b'));
    followers[0]!.node.propose(enc.encode('c')); // forwarded to the leader
    await c.settle();
    await c.tick(2); // heartbeats carry the last commit index to everyone
    for (const m of c.members) expect(m.appliedData).toEqual(['a', 'b', 'c']);
    // Every member handed the same log to its applier, bootstrap entries and the leader's empty entry included.
    const logs = c.members.map((m) => m.committed.map((e) => `${e.index}/${e.term}`));
    expect(logs[1]).toEqual(logs[0]);
    expect(logs[2]).toEqual(logs[0]);
    // One tick timer per member, no real timers.
    expect(c.clock.timerCount).toBe(3);
  });

  it('is deterministic: the same seed gives the same messages', async () => {
    const run = async (): Promise<string[]> => {
      const { c, leader } = await started(7);
      leader.node.propose(enc.encode('x'));
      await c.tick(3);
      const trace = c.net.sent.map((m) => `${m.type}:${m.from}>${m.to}@${m.term}/${m.index}/${m.commit}`);
      await c.stop();
      cluster = undefined;
      return trace;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(first.length).toBeGreaterThan(10);
  });

  it('hands an entry to onCommitted only once it is durable on a quorum', async () => {
    const { c, leader, followers } = await started();
    const [f1, f2] = followers as [DriverMember, DriverMember];
    f1.log.hold();
    f2.log.hold();
    leader.node.propose(enc.encode('x'));
    await c.settle();
    // On the leader's disk only: one copy of three is not a quorum.
    expect(pendingHas(f1, 'x') && pendingHas(f2, 'x')).toBe(true);
    expect(leader.log.entries.some((e) => dec.decode(e.data) === 'x')).toBe(true);
    for (const m of c.members) expect(m.appliedData).toEqual([]);

    f1.log.release();
    await c.settle();
    // Leader + f1: a quorum. The leader applies; f2, whose save is still open, does not.
    expect(leader.appliedData).toEqual(['x']);
    expect(f2.appliedData).toEqual([]);

    f2.log.release();
    await c.settle();
    await c.tick(2);
    for (const m of c.members) expect(m.appliedData).toEqual(['x']);
  });

  it('tells followers a commit with the next append, or with an empty MsgApp once the commit-notice delay is over, and not after stopping', async () => {
    const { c, leader, followers } = await started();
    const notices = (from: number) =>
      c.net.sent.slice(from).filter((m) => m.from === leader.id && m.type === MessageType.MsgApp && m.entries.length === 0);
    const idle = c.net.sent.length;
    leader.node.propose(enc.encode('x'));
    await c.settle();
    // Committed and applied on the leader; the followers hold x but have not heard it is committed.
    expect(leader.appliedData).toEqual(['x']);
    for (const f of followers) expect(f.appliedData).toEqual([]);
    expect(notices(idle)).toEqual([]);
    c.clock.advance(1);
    await c.settle();
    expect(notices(idle).map((m) => m.to).sort()).toEqual(followers.map((f) => f.id).sort());
    for (const f of followers) expect(f.appliedData).toEqual(['x']);

    // A proposal right after a commit: its append carries the commit, and no notice goes out for it.
    const busy = c.net.sent.length;
    leader.node.propose(enc.encode('y'));
    await c.settle();
    const yIndex = leader.committed.at(-1)!.index;
    leader.node.propose(enc.encode('z'));
    await c.settle();
    expect(notices(busy).filter((m) => m.commit === yIndex)).toEqual([]);
    for (const f of followers) expect(f.appliedData).toEqual(['x', 'y']);

    // flushCommitNotices() sends a held notice at once (the applier asks after an auth change).
    leader.node.propose(enc.encode('w'));
    await c.settle();
    const flushed = c.net.sent.length;
    expect(notices(flushed)).toEqual([]);
    leader.node.flushCommitNotices();
    await c.settle();
    expect(notices(flushed)).toHaveLength(2);
    for (const f of followers) expect(f.appliedData).toEqual(['x', 'y', 'z', 'w']);

    // The next notice is held when the leader stops: it never goes out.
    leader.node.propose(enc.encode('v'));
    await c.settle();
    await leader.node.stop();
    const stopped = c.net.sent.length;
    c.clock.advance(5);
    await c.settle();
    expect(notices(stopped)).toEqual([]);
  });

  it("sends at once the notice that commits a follower's forwarded proposal, to that follower only", async () => {
    const { c, leader, followers } = await started();
    const [f1, f2] = followers as [DriverMember, DriverMember];
    const notices = (from: number) =>
      c.net.sent.slice(from).filter((m) => m.from === leader.id && m.type === MessageType.MsgApp && m.entries.length === 0);
    const before = c.net.sent.length;
    f1.node.propose(enc.encode('f')); // forwarded: f1 answers its client only once it applies f
    await c.settle();
    // No clock time has passed: f1 learned the commit from a notice sent at once; f2's is held.
    expect(leader.appliedData).toEqual(['f']);
    expect(f1.appliedData).toEqual(['f']);
    expect(f2.appliedData).toEqual([]);
    expect(notices(before).map((m) => m.to)).toEqual([f1.id]);
    c.clock.advance(1);
    await c.settle();
    expect(f2.appliedData).toEqual(['f']);

    // Once f1 has seen that commit, its notices are held again like anyone's.
    const later = c.net.sent.length;
    leader.node.propose(enc.encode('g'));
    await c.settle();
    expect(notices(later)).toEqual([]);
    expect(f1.appliedData).toEqual(['f']);
  });

  it('lets followers write appends inline, and a leader only while it serves one request at a time, across a change of leader', async () => {
    const { c, leader, followers } = await started();
    // Whether each of a member's writes of entries was made inline, in order.
    const inline = (m: DriverMember): (boolean | undefined)[] =>
      m.log.synced.flatMap((w) => (w.kind === 'save' && w.entries.length > 0 ? [w.inline] : []));
    const one = async (data: string): Promise<void> => {
      leader.node.propose(enc.encode(data));
      await c.settle();
    };
    const parallel = async (...data: string[]): Promise<void> => {
      const mark = inline(leader).length;
      for (const d of data) leader.node.propose(enc.encode(d));
      await c.settle();
      // One append of more than one entry, through the pool.
      expect(inline(leader).slice(mark)).toEqual([false]);
    };
    await parallel('a1', 'a2');
    // One request at a time: the leader's write goes inline from the streak's end on.
    const before = inline(leader).length;
    for (let i = 0; i <= LEADER_ALONE_STREAK; i++) await one(`b${i}`);
    expect(inline(leader).slice(before)).toEqual([...Array<boolean>(LEADER_ALONE_STREAK - 1).fill(false), true, true]);
    // ...with the leader's tighter bound on the last write's duration; a follower's is the log's default.
    expect(leader.log.inlineMaxLastMs).toBe(LEADER_INLINE_MAX_LAST_MS);
    for (const f of followers) expect(f.log.inlineMaxLastMs).toBeUndefined();
    for (const f of followers) expect(inline(f).slice(-LEADER_ALONE_STREAK)).toEqual(Array<boolean>(LEADER_ALONE_STREAK).fill(true));
    // Requests in parallel again: back to the pool, and a lone request right after
    // is not inline yet (the streak starts again).
    await parallel('c1', 'c2', 'c3');
    await one('d');
    expect(inline(leader).at(-1)).toBe(false);
    // A follower's client, one request at a time, with three voters: its entries
    // are written inline too, and the leader's word that they are on its disk lets
    // that follower commit them (raft/persisted-hint.ts).
    for (let i = 0; i <= LEADER_ALONE_STREAK; i++) await one(`e${i}`);
    expect(inline(leader).at(-1)).toBe(true);
    const fmark = inline(leader).length;
    const hintsBefore = c.net.sent.filter((m) => m.type === MessageType.MsgLeaderPersisted).length;
    for (let i = 0; i <= LEADER_ALONE_STREAK; i++) {
      followers[1]!.node.propose(enc.encode(`f${i}`));
      await c.settle();
    }
    expect(inline(leader).slice(fmark)).toEqual(Array<boolean>(LEADER_ALONE_STREAK + 1).fill(true));
    const hints = c.net.sent.filter((m) => m.type === MessageType.MsgLeaderPersisted).slice(hintsBefore);
    expect(hints.length).toBe(LEADER_ALONE_STREAK + 1);
    for (const h of hints) expect(h.to).toBe(followers[1]!.id);
    // Linearizable reads, the leader's own or a follower's: the next lone put is not inline.
    for (const reader of [leader, followers[1]!]) {
      for (let i = 0; i <= LEADER_ALONE_STREAK; i++) await one(`r${i}`);
      expect(inline(leader).at(-1)).toBe(true);
      reader.node.readIndex(enc.encode(`read-${reader.id}`));
      await c.settle();
      await one('after-read');
      expect(inline(leader).at(-1)).toBe(false);
    }

    const next = followers[0]!;
    leader.node.transferLeadership(next.id);
    await c.settle();
    await c.tick(3);
    expect(c.leaders()).toEqual([next]);
    next.node.propose(enc.encode('g'));
    await c.settle();
    expect(inline(next).at(-1)).toBe(false);
    expect(inline(leader).at(-1)).toBe(true);
  });

  it('with five voters, a follower\'s forwarded entries go through the leader\'s pool: no hint can commit them', async () => {
    const c = (cluster = checkedCluster(1, [1n, 2n, 3n, 4n, 5n]));
    c.start();
    const leader = await c.electLeader();
    const follower = c.members.find((m) => m !== leader)!;
    const inline = (): (boolean | undefined)[] =>
      leader.log.synced.flatMap((w) => (w.kind === 'save' && w.entries.length > 0 ? [w.inline] : []));
    for (let i = 0; i <= LEADER_ALONE_STREAK; i++) {
      leader.node.propose(enc.encode(`a${i}`));
      await c.settle();
    }
    expect(inline().at(-1)).toBe(true);
    const mark = inline().length;
    for (let i = 0; i <= LEADER_ALONE_STREAK; i++) {
      follower.node.propose(enc.encode(`f${i}`));
      await c.settle();
    }
    expect(inline().slice(mark)).toEqual(Array<boolean>(LEADER_ALONE_STREAK + 1).fill(false));
    expect(c.net.sent.filter((m) => m.type === MessageType.MsgLeaderPersisted)).toEqual([]);
    await c.tick(3);
    for (const m of c.members) expect(m.appliedData.slice(-1)).toEqual([`f${LEADER_ALONE_STREAK}`]);
  });

  it("sends a follower's acknowledgement only after its save resolved", async () => {
    const { c, leader, followers } = await started();
    const f1 = followers[0]!;
    f1.log.hold();
    leader.node.propose(enc.encode('y'));
    await c.settle();
    const index = sentAppendsWith(c, leader, 'y')[0]!.entries.find((e) => dec.decode(e.data) === 'y')!.index;
    const acks = (): Message[] =>
      c.net.sent.filter((m) => m.from === f1.id && m.type === MessageType.MsgAppResp && !m.reject && m.index >= index);
    expect(pendingHas(f1, 'y')).toBe(true);
    expect(acks()).toEqual([]);
    // Heartbeats meanwhile change nothing: the follower's loop waits on its write.
    await c.tick(3);
    expect(acks()).toEqual([]);

    f1.log.release();
    await c.settle();
    expect(acks().length).toBeGreaterThan(0);
    expect(f1.log.entry(index)).toBeDefined();
  });

  it("handles a follower's append whose write the log makes at once without the async Ready loop, and one it cannot make in the loop", async () => {
    const { c, leader, followers } = await started();
    const f1 = followers[0]!;
    // The async loop (ready-loop.ts) is private: a spy on it counts the Readies that needed it.
    const readyLoop = (f1.node as unknown as { ready: { loop: (rd: unknown) => Promise<void> } }).ready;
    const loops = vi.spyOn(readyLoop, 'loop');
    const acked = (data: string): boolean => {
      const index = sentAppendsWith(c, leader, data)[0]!.entries.find((e) => dec.decode(e.data) === data)!.index;
      return c.net.sent.some((m) => m.from === f1.id && m.type === MessageType.MsgAppResp && !m.reject && m.index >= index);
    };
    leader.node.propose(enc.encode('p'));
    await c.settle();
    expect(f1.log.synced.at(-1)).toMatchObject({ kind: 'save', inline: true });
    expect(acked('p')).toBe(true);
    expect(loops).not.toHaveBeenCalled();
    // A write the log cannot make now (held: as if one were in flight) goes through
    // the loop, which waits for it before acknowledging.
    f1.log.hold();
    leader.node.propose(enc.encode('q'));
    await c.settle();
    expect(loops).toHaveBeenCalled();
    expect(acked('q')).toBe(false);
    f1.log.release();
    await c.settle();
    expect(acked('q')).toBe(true);
    expect(f1.log.synced.at(-1)).toMatchObject({ kind: 'save', inline: false });
    await c.tick(2);
    for (const m of c.members) expect(m.appliedData).toEqual(['p', 'q']);
  });

  it('broadcasts the leader appends before its own save finishes (Raft thesis 10.2.1)', async () => {
    const { c, leader, followers } = await started();
    leader.log.hold();
    leader.node.propose(enc.encode('z'));
    await c.settle();
    // The leader's write is still open, yet both followers got the entry and saved it.
    expect(pendingHas(leader, 'z')).toBe(true);
    expect(new Set(sentAppendsWith(c, leader, 'z').map((m) => m.to))).toEqual(new Set(followers.map((f) => f.id)));
    for (const f of followers) expect(f.log.entries.some((e) => dec.decode(e.data) === 'z')).toBe(true);
    // Nobody applies yet: the leader waits for its own write, the followers for the commit index.
    for (const m of c.members) expect(m.appliedData).toEqual([]);

    leader.log.release();
    await c.settle();
    await c.tick(2);
    for (const m of c.members) expect(m.appliedData).toEqual(['z']);
  });

  it("announces a commit both followers made while the leader's own write is open: a forwarding follower answers without waiting for it", async () => {
    const { c, leader, followers } = await started();
    const [f1, f2] = followers as [DriverMember, DriverMember];
    leader.log.hold();
    f1.node.propose(enc.encode('f')); // forwarded: f1 answers its client once it applies f
    await c.settle();
    // Both followers saved 'f': committed, though the leader's write of it is still open.
    expect(pendingHas(leader, 'f')).toBe(true);
    expect(f1.appliedData).toEqual(['f']);
    expect(leader.appliedData).toEqual([]); // the leader applies once its own copy is on disk
    expect(f2.appliedData).toEqual([]); // its notice is held like any other (commit-notices.ts)

    leader.log.release();
    await c.settle();
    await c.tick(2);
    for (const m of c.members) expect(m.appliedData).toEqual(['f']);
  });

  it('writes the notice of a commit a forwarding follower waits for before the leader applies the entry', async () => {
    const { c, leader, followers } = await started();
    const [f1, f2] = followers as [DriverMember, DriverMember];
    f1.log.hold();
    f2.log.hold();
    f1.node.propose(enc.encode('f')); // forwarded: f1 answers its client once it applies f
    await c.settle();
    const index = leader.log.lastIndex;
    expect(dec.decode(leader.log.entry(index)!.data)).toBe('f'); // the leader's copy is on disk, the followers' are not
    // What a peer stream does: it writes its socket in a microtask after the sends of one synchronous run.
    const written = new Set<Message>();
    const onSend = c.net.onSend;
    c.net.onSend = (m) => {
      onSend(m);
      queueMicrotask(() => written.add(m));
    };
    let noticeWritten: boolean | undefined;
    const check = leader.onCommitted;
    leader.onCommitted = (self, entries) => {
      if (entries.some((e) => e.index === index)) {
        noticeWritten ??= [...written].some((m) => m.to === f1.id && m.type === MessageType.MsgApp && m.commit >= index);
      }
      check?.(self, entries);
    };
    // f1's acknowledgement commits 'f' with the leader's copy, in a Ready that writes nothing.
    f1.log.release();
    await c.settle();
    expect(noticeWritten).toBe(true);
    expect(f1.appliedData).toEqual(['f']);
    f2.log.release();
    await c.settle();
    await c.tick(2);
    for (const m of c.members) expect(m.appliedData).toEqual(['f']);
  });

  it("a forwarding follower applies the commit's notice and does not answer it (its acknowledgement of the entry said it all)", async () => {
    const { c, leader, followers } = await started();
    const f1 = followers[0]!;
    const before = c.net.sent.length;
    f1.node.propose(enc.encode('f'));
    await c.settle();
    expect(f1.appliedData).toEqual(['f']);
    const index = f1.log.lastIndex;
    const sent = c.net.sent.slice(before);
    const notices = sent.filter((m) => m.to === f1.id && m.type === MessageType.MsgApp && m.entries.length === 0);
    expect(notices.map((m) => [m.index, m.commit, m.commitOnly])).toEqual([[index, index, true]]);
    // f1 acknowledged the entry once, when it had written it, and nothing after.
    const acks = sent.filter((m) => m.from === f1.id && m.type === MessageType.MsgAppResp);
    expect(acks.map((m) => m.index)).toEqual([index]);
    await c.tick(2);
    for (const m of c.members) expect(m.appliedData).toEqual(['f']);
    expect(leader.raw.status().progress.get(f1.id)?.match).toBe(index);
  });

  it('a follower applies its forwarded proposal from the leader\'s persisted hint, before the leader counts an acknowledgement', async () => {
    const { c, leader, followers } = await started();
    const [f1, f2] = [followers[0]!, followers[1]!];
    // No acknowledgement reaches the leader: only its hint can tell f1 the entry is on a majority.
    c.net.drop = (m) => m.to === leader.id && m.type === MessageType.MsgAppResp;
    const before = leader.node.committedNow;
    f1.node.propose(enc.encode('h'));
    await c.settle();
    expect(f1.appliedData).toEqual(['h']);
    expect(f2.appliedData).toEqual([]);
    expect(leader.appliedData).toEqual([]);
    const hints = c.net.sent.filter((m) => m.type === MessageType.MsgLeaderPersisted);
    expect(hints.map((m) => [m.from, m.to])).toEqual([[leader.id, f1.id]]);
    // The leader has not counted it committed, but its reads and confirmations wait for it.
    expect(leader.node.committedNow).toBe(hints[0]!.index);
    expect(hints[0]!.index).toBeGreaterThan(before);
    c.net.drop = () => false;
    await c.tick(6);
    for (const m of c.members) expect(m.appliedData).toEqual(['h']);
  });

  it('a follower that learns a commit from a heartbeat answers it only after what its applying queued', async () => {
    const { c, leader, followers } = await started();
    c.net.soonWaits = true;
    const f1 = followers[0]!;
    // The notice (and the leader's hint that its copy is on disk) is lost: the next heartbeat carries the commit instead.
    c.net.drop = (m) => m.to === f1.id && (m.commitOnly === true || m.type === MessageType.MsgLeaderPersisted);
    const answersFrom = (since: number): Message[] =>
      c.net.sent.slice(since).filter((m) => m.from === f1.id && m.to === leader.id && m.type === MessageType.MsgHeartbeatResp);
    let answeredDuringReply: boolean | undefined;
    let applied = -1;
    const check = f1.onCommitted;
    f1.onCommitted = (self, entries) => {
      if (entries.some((e) => dec.decode(e.data) === 'f')) {
        applied = c.net.sent.length;
        // A client's answer goes out a few promise hops after the apply.
        void Promise.resolve()
          .then(() => undefined)
          .then(() => undefined)
          .then(() => (answeredDuringReply = answersFrom(applied).length > 0));
      }
      check?.(self, entries);
    };
    f1.node.propose(enc.encode('f'));
    await c.settle();
    expect(f1.appliedData).toEqual([]);
    await c.tick(2);
    expect(f1.appliedData).toEqual(['f']);
    expect(answeredDuringReply).toBe(false);
    // ...and it does go, once the turn is over.
    expect(answersFrom(applied).length).toBeGreaterThan(0);
    for (const m of c.members) expect(m.appliedData).toEqual(['f']);
  });

  it("a follower writes its acknowledgement of an append before it applies what that append committed", async () => {
    const { c, leader, followers } = await started();
    // Messages leave from a microtask, as the peer streams write their sockets.
    c.net.writesWait = true;
    leader.node.propose(enc.encode('x'));
    await c.settle();
    // The followers hold x; the commit reaches them with the next append (no notice: the clock stands still).
    for (const f of followers) expect(f.appliedData).toEqual([]);
    const ackWrittenAtApply = new Map<bigint, boolean>();
    for (const f of followers) {
      const check = f.onCommitted;
      f.onCommitted = (self, entries) => {
        if (entries.some((e) => dec.decode(e.data) === 'x')) {
          const yIndex = self.log.lastIndex;
          ackWrittenAtApply.set(
            self.id,
            c.net.sent.some((m) => m.from === self.id && m.type === MessageType.MsgAppResp && !m.reject && m.index >= yIndex),
          );
        }
        check?.(self, entries);
      };
    }
    leader.node.propose(enc.encode('y'));
    await c.settle();
    // Each follower wrote y and applied x in one Ready: the acknowledgement of y (which the
    // leader's commit waits for) was on the wire before x's apply began.
    expect([...ackWrittenAtApply.entries()].sort()).toEqual(followers.map((f) => [f.id, true] as const).sort());
    for (const f of followers) expect(f.appliedData).toEqual(['x']);
    c.clock.advance(1);
    await c.settle();
    for (const m of c.members) expect(m.appliedData).toEqual(['x', 'y']);
  });

  it('applies entries already on disk only once the next write and its appends are under way', async () => {
    const { c, leader, followers } = await started();
    leader.log.hold();
    leader.node.propose(enc.encode('a'));
    await c.settle();
    // 'a' waits on the leader's write; 'b' piles up in the core meanwhile.
    leader.node.propose(enc.encode('b'));
    await c.settle();
    const seen: { entries: string[]; bSaving: boolean; bSentTo: bigint[] }[] = [];
    const check = leader.onCommitted;
    leader.onCommitted = (self, entries) => {
      seen.push({
        entries: entries.map((e) => dec.decode(e.data)),
        bSaving: pendingHas(leader, 'b'),
        bSentTo: sentAppendsWith(c, leader, 'b').map((m) => m.to),
      });
      check?.(self, entries);
    };
    // 'a' becomes durable on the leader (the followers have it): the next Ready writes 'b'
    // and carries 'a' committed. 'b' stays held, so 'a' is applied during that write.
    expect(leader.log.releaseOne()).toBe(true);
    await c.settle();
    const a = seen.find((s) => s.entries.includes('a'));
    expect(a).toBeDefined();
    expect(a!.bSaving).toBe(true);
    expect(new Set(a!.bSentTo)).toEqual(new Set(followers.map((f) => f.id)));
    expect(leader.appliedData).toEqual(['a']);
    leader.log.release();
    await c.settle();
    await c.tick(2);
    for (const m of c.members) expect(m.appliedData).toEqual(['a', 'b']);
  });

  it("forwards a follower's proposals before its own save finishes: they promise nothing about its log", async () => {
    const { c, leader, followers } = await started();
    const f1 = followers[0]!;
    f1.log.hold();
    leader.node.propose(enc.encode('first'));
    await c.settle();
    expect(pendingHas(f1, 'first')).toBe(true); // f1's loop waits on this write
    // Meanwhile f1 receives another entry and proposes two: its next Ready carries a save and the MsgProp.
    leader.node.propose(enc.encode('second'));
    await c.settle();
    f1.node.propose(enc.encode('p1'));
    f1.node.propose(enc.encode('p2'));
    const forwarded = () =>
      c.net.sent.filter((m) => m.from === f1.id && m.type === MessageType.MsgProp).map((m) => m.entries.map((e) => dec.decode(e.data)));
    expect(forwarded()).toEqual([]);
    f1.log.release();
    f1.log.hold();
    await c.settle();
    expect(pendingHas(f1, 'second')).toBe(true); // that save is still open...
    expect(forwarded()).toEqual([['p1', 'p2']]); // ...and the proposals went out, in one message
    f1.log.release();
    await c.settle();
    await c.tick(2);
    for (const m of c.members) expect(m.appliedData).toEqual(['first', 'second', 'p1', 'p2']);
  });

  it('stop() with a manual clock terminates, waits for the Ready in progress and cancels the tick timer', async () => {
    const { c, leader, followers } = await started();
    const f1 = followers[0]!;
    f1.log.hold();
    leader.node.propose(enc.encode('w'));
    await c.settle();
    expect(pendingHas(f1, 'w')).toBe(true);

    let stopped = false;
    const stopping = f1.node.stop().then(() => (stopped = true));
    await c.settle();
    expect(stopped).toBe(false); // its Ready is still waiting for the write
    f1.log.release();
    await stopping;
    expect(stopped).toBe(true);
    // The Ready in progress finished: its acknowledgement went out after the write.
    expect(c.net.sent.some((m) => m.from === f1.id && m.type === MessageType.MsgAppResp && !m.reject)).toBe(true);

    await leader.node.stop();
    await followers[1]!.node.stop(); // an idle member stops at once
    expect(c.clock.timerCount).toBe(0);
    const sent = c.net.sent.length;
    c.clock.advance(10 * c.opts.tickMs);
    leader.node.propose(enc.encode('after stop'));
    await c.settle();
    expect(c.net.sent.length).toBe(sent);

    await f1.node.closeStorage();
    expect(f1.log.closed).toBe(true);
  });

  it('closeStorage writes the hard state whose only change, the commit index, waited for a write of its own', async () => {
    const { c, leader, followers } = await started();
    const f = followers[0]!;
    leader.node.propose(enc.encode('w'));
    await c.settle();
    await c.tick(2); // the commit reaches the followers (a notice, a heartbeat): no entries, so no write
    expect(f.appliedData).toEqual(['w']);
    const commit = f.node.committedIndex;
    expect(f.log.hardState.commit).toBeLessThan(commit);
    const writes = f.log.synced.length;
    await f.node.stop();
    await f.node.closeStorage();
    expect(f.log.synced.length).toBe(writes + 1);
    expect(f.log.hardState.commit).toBe(commit);
    expect(f.log.closed).toBe(true);
  });

  it('a proposal a follower forwards while the leader transfers leadership is committed once, soon after the transfer', async () => {
    const { c, leader, followers } = await started();
    const [transferee, proposer] = followers as [DriverMember, DriverMember];
    // The transferee lags (nothing from the leader reaches it), so the transfer stays in progress.
    c.net.drop = (m) => m.from === leader.id && m.to === transferee.id;
    leader.node.propose(enc.encode('lag'));
    await c.settle();
    leader.node.transferLeadership(transferee.id);
    await c.settle();
    expect(leader.raw.status().leadTransferee).toBe(transferee.id);

    proposer.node.propose(enc.encode('fwd')); // its core forwards it to the leader as a MsgProp
    await c.settle();
    expect(c.net.sent.some((m) => m.type === MessageType.MsgProp && m.from === proposer.id && m.to === leader.id)).toBe(true);
    expect(leader.raw.raft.heldProposals.length).toBe(1); // held, not dropped, not appended
    expect(leader.log.entries.some((e) => dec.decode(e.data) === 'fwd')).toBe(false);

    c.net.drop = () => false;
    let ticks = 0;
    while (!proposer.appliedData.includes('fwd') && ticks < 50) {
      await c.tick();
      ticks++;
    }
    expect(transferee.node.isLeader).toBe(true);
    // Within an election timeout of the transferee catching up: the proposer's client need not time out.
    expect(ticks).toBeLessThan(c.opts.electionTick);
    await c.tick(3);
    for (const m of c.members) expect(m.appliedData.filter((d) => d === 'fwd')).toEqual(['fwd']);
    const fwd = transferee.committed.find((e) => dec.decode(e.data) === 'fwd')!;
    expect(fwd.term).toBe(transferee.node.currentTerm); // appended by the new leader
    expect(leader.raw.raft.heldProposals).toEqual([]);
    for (const m of c.members) expect(m.fatal).toBeUndefined();
  });

  const breakWrites: [string, (log: DriverMember['log']) => void][] = [
    ['a failed save', (log) => log.fail(new Error('disk on fire'))],
    [
      'a failed inline write',
      (log) => {
        log.saveNow = () => {
          throw new Error('disk on fire');
        };
      },
    ],
  ];
  it.each(breakWrites)('%s stops the member through onFatal, with nothing acknowledged', async (_, breakWrite) => {
    const { c, leader, followers } = await started();
    const f1 = followers[0]!;
    breakWrite(f1.log);
    leader.node.propose(enc.encode('v'));
    await c.settle();
    expect(f1.fatal?.message).toBe('disk on fire');
    const index = sentAppendsWith(c, leader, 'v')[0]!.entries[0]!.index;
    expect(c.net.sent.some((m) => m.from === f1.id && m.type === MessageType.MsgAppResp && !m.reject && m.index >= index)).toBe(false);
    // The other two still make a quorum.
    await c.tick(2);
    expect(leader.appliedData).toEqual(['v']);
    expect(f1.appliedData).toEqual([]);
  });
});

describe('RaftNode over in-memory ports, five members', () => {
  it('does not apply a committed entry that replaces an uncommitted one on disk before saving it', async () => {
    // L appends x to A only, then L and A are cut off; B, C, D elect a leader that
    // commits its own entry at x's index. When A hears from it again, one Ready
    // carries the replacement entry and the commit index covering it, at an index
    // A had already saved (with x): it must still be saved before it is applied.
    const c = (cluster = checkedCluster(3, [1n, 2n, 3n, 4n, 5n]));
    c.start();
    const leader = await c.electLeader();
    const [a, ...rest] = c.members.filter((m) => m !== leader) as [DriverMember, ...DriverMember[]];
    c.net.drop = (m) => m.from === leader.id && m.to !== a.id;
    leader.node.propose(enc.encode('x'));
    await c.settle();
    const x = a.log.entries.find((e) => dec.decode(e.data) === 'x');
    expect(x).toBeDefined();
    for (const m of c.members) expect(m.appliedData).toEqual([]);

    const cutOff = new Set([leader.id, a.id]);
    c.net.drop = (m) => cutOff.has(m.from) !== cutOff.has(m.to);
    let next: DriverMember | undefined;
    for (let i = 0; i < 200 && !next; i++) {
      await c.tick();
      next = rest.find((m) => m.node.isLeader && m.node.committedIndex >= x!.index);
    }
    expect(next).toBeDefined();

    c.net.drop = () => false;
    await c.tick(5);
    expect(a.log.entry(x!.index)?.term).toBe(next!.node.currentTerm);
    const replaced = a.committed.find((e) => e.index === x!.index);
    expect(replaced?.term).toBe(next!.node.currentTerm);
  });
});

describe('advanceTicks (--initial-election-tick-advance)', () => {
  /** Ticks until the first leader, after member 1 fast-forwarded `advance` ticks at start. */
  async function ticksToLeader(advance: number): Promise<{ ticks: number; leader: bigint }> {
    const c = (cluster = checkedCluster(7));
    c.start();
    c.member(1n).node.advanceTicks(advance);
    await c.settle();
    for (let i = 1; i <= 40; i++) {
      await c.tick();
      const [leader] = c.leaders();
      if (leader) {
        for (const m of c.members) m.log.release();
        await c.stop();
        cluster = undefined;
        return { ticks: i, leader: leader.id };
      }
    }
    throw new Error('no leader');
  }

  it('a member that fast-forwards electionTicks - 2 ticks wins the first election within a couple of ticks of its timeout', async () => {
    const plain = await ticksToLeader(0);
    const advanced = await ticksToLeader(8);
    // Its randomised timeout is in [10, 20) ticks: at most 11 ticks are left after 8.
    expect(advanced.ticks).toBeLessThanOrEqual(11);
    expect(advanced.ticks).toBeLessThan(plain.ticks);
    expect(advanced.leader).toBe(1n);
  });
});

describe('holdVotesMs (a restarted member and the leader lease)', () => {
  /** A vote request to member 1 from member 2, for a term and log far ahead (grantable on its merits). */
  function voteRequest(term: number, transfer: boolean): Message {
    return {
      type: MessageType.MsgVote, from: 2n, to: 1n, term, logTerm: 50, index: 1000, entries: [], commit: 0,
      reject: false, rejectHint: 0, context: transfer ? new TextEncoder().encode('CampaignTransfer') : new Uint8Array(0),
    } as unknown as Message;
  }
  const answersTo2 = (c: DriverCluster): Message[] => c.net.sent.filter((m) => m.from === 1n && m.to === 2n && m.type === MessageType.MsgVoteResp);

  it('drops vote requests until the hold ends, except a leadership transfer\'s, and then votes as usual', async () => {
    const c = (cluster = new DriverCluster(IDS, { holdVotesMs: 1000 }));
    const one = c.member(1n);
    one.node.step(voteRequest(5, false));
    await c.settle();
    expect(answersTo2(c)).toEqual([]); // ignored: no answer, and its term did not move
    expect(one.raw.status().hardState.term).toBeLessThan(5);
    one.node.step(voteRequest(6, true));
    await c.settle();
    expect(answersTo2(c).map((m) => [m.term, m.reject])).toEqual([[6, false]]);
    c.clock.advance(1000);
    one.node.step(voteRequest(7, false));
    await c.settle();
    expect(answersTo2(c).map((m) => [m.term, m.reject])).toEqual([[6, false], [7, false]]);
  });

  it('without a hold, the same request is answered at once', async () => {
    const c = (cluster = new DriverCluster(IDS));
    c.member(1n).node.step(voteRequest(5, false));
    await c.settle();
    expect(answersTo2(c).map((m) => [m.term, m.reject])).toEqual([[5, false]]);
  });
});
