// joinAppends: which of a leader's appends to one follower are joined, and that a
// follower ends in the same state (log and commit index) from the joined
// messages as from the originals, over random sequences.

import { describe, expect, it } from 'vitest';
import { joinAppends } from '../../src/server/join-appends.js';
import { type Entry, EntryType, type Message, MessageType } from '../../src/raft/types.js';
import { newMessage } from '../../src/raft/util.js';

const B = 2n;
const C = 3n;

function ent(index: number, term: number, size = 10): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(size), encoded: undefined };
}

/** A MsgApp from 1 to `to` in `term`: entries after (index, logTerm), commit. */
function app(to: bigint, index: number, logTerm: number, entries: Entry[], commit: number, term = 5): Message {
  const m = newMessage(MessageType.MsgApp, to, 1n);
  m.term = term;
  m.index = index;
  m.logTerm = logTerm;
  m.entries = entries;
  m.commit = commit;
  return m;
}

function heartbeat(to: bigint, commit: number): Message {
  const m = newMessage(MessageType.MsgHeartbeat, to, 1n);
  m.term = 5;
  m.commit = commit;
  return m;
}

const shape = (ms: Message[]): string[] =>
  ms.map((m) => `${MessageType[m.type]}>${m.to} i${m.index}/t${m.logTerm} [${m.entries.map((e) => e.index).join(',')}] c${m.commit}`);

describe('joinAppends', () => {
  it("joins a commit notice to the entries before it, and entries to the notice before them, per peer", () => {
    const e = [ent(11, 5), ent(12, 5), ent(13, 5)];
    const input = [
      app(B, 10, 5, [e[0]!, e[1]!], 9),
      app(C, 10, 5, [e[0]!, e[1]!], 9),
      app(B, 12, 5, [], 10), // the commit advanced: an empty notice to each
      app(C, 12, 5, [], 10),
      app(B, 12, 5, [e[2]!], 10), // a new proposal
      app(C, 12, 5, [e[2]!], 10),
    ];
    const before = shape(input);
    const out = joinAppends(input, 1 << 20);
    expect(shape(out)).toEqual(['MsgApp>2 i10/t5 [11,12,13] c10', 'MsgApp>3 i10/t5 [11,12,13] c10']);
    expect(shape(input)).toEqual(before); // nothing changed in place

    const notice = [app(B, 12, 5, [], 10), app(B, 12, 5, [e[2]!], 11)];
    expect(shape(joinAppends(notice, 1 << 20))).toEqual(['MsgApp>2 i12/t5 [13] c11']);
  });

  it('keeps a commit-only notice unanswered only while what it is joined to is one too', () => {
    const e = [ent(11, 5), ent(12, 5), ent(13, 5)];
    const commitOnly = (m: Message): Message => ({ ...m, commitOnly: true });
    const only = (ms: Message[]) => joinAppends(ms, 1 << 20).map((m) => m.commitOnly === true);
    // The follower must acknowledge the entries, whichever side of the join the notice was on.
    expect(only([app(B, 10, 5, [e[0]!, e[1]!], 9), commitOnly(app(B, 12, 5, [], 10))])).toEqual([false]);
    expect(only([commitOnly(app(B, 12, 5, [], 10)), app(B, 12, 5, [e[2]!], 11)])).toEqual([false]);
    expect(only([commitOnly(app(B, 12, 5, [], 10)), app(B, 12, 5, [], 11)])).toEqual([false]);
    expect(only([commitOnly(app(B, 12, 5, [], 10)), commitOnly(app(B, 12, 5, [], 11))])).toEqual([true]);
  });

  it('keeps apart what does not continue the message before it, and returns the same array when nothing joins', () => {
    const cases: Message[][] = [
      [app(B, 10, 5, [ent(11, 5)], 9), heartbeat(B, 9), app(B, 11, 5, [], 10)], // another message to the peer in between
      [app(B, 10, 5, [ent(11, 5)], 9), app(B, 8, 5, [ent(9, 5)], 9)], // a resend from further back
      [app(B, 10, 5, [ent(11, 5), ent(12, 5)], 9), app(B, 11, 5, [ent(12, 5), ent(13, 5)], 9)], // overlapping
      [app(B, 10, 5, [ent(11, 5)], 9), app(B, 12, 5, [ent(13, 5)], 9)], // a gap
      [app(B, 10, 5, [ent(11, 5)], 9), app(B, 11, 4, [], 9)], // not the term the first ends with
      [app(B, 10, 5, [], 9), app(B, 10, 5, [], 9, 6)], // another term
      [app(B, 10, 5, [ent(11, 5)], 9), app(B, 11, 5, [], 8)], // an older commit
      [app(B, 10, 5, [ent(11, 5, 600)], 9), app(B, 11, 5, [ent(12, 5, 600)], 9)], // over the byte limit
      [app(B, 10, 5, [ent(11, 5)], 9), app(C, 10, 5, [ent(11, 5)], 9)], // other peers
    ];
    for (const input of cases) expect(joinAppends(input, 1000)).toBe(input);
    // After a message that stops a run, a new run starts.
    const out = joinAppends([app(B, 10, 5, [ent(11, 5)], 9), heartbeat(B, 9), app(B, 11, 5, [], 10), app(B, 11, 5, [ent(12, 5)], 10)], 1000);
    expect(shape(out)).toEqual(['MsgApp>2 i10/t5 [11] c9', 'MsgHeartbeat>2 i0/t0 [] c9', 'MsgApp>2 i11/t5 [12] c10']);
  });

  it('finds the appends to join behind messages to other peers, in a short list and in a long one', () => {
    const e = [ent(11, 5), ent(12, 5)];
    const around = (n: number): Message[] => [
      app(B, 10, 5, [e[0]!], 9),
      ...Array.from({ length: n }, (_, i) => heartbeat(C, 9 + (i % 2))),
      app(B, 11, 5, [e[1]!], 10),
    ];
    for (const n of [1, 40]) {
      const out = joinAppends(around(n), 1 << 20);
      expect(out).toHaveLength(n + 1);
      expect(shape([out[0]!])).toEqual(['MsgApp>2 i10/t5 [11,12] c10']);
    }
    // No append after another message to its peer: the same array.
    const apart = [app(B, 10, 5, [e[0]!], 9), app(C, 10, 5, [e[0]!], 9), heartbeat(B, 9)];
    expect(joinAppends(apart, 1 << 20)).toBe(apart);
  });

  it('a follower ends in the same log and commit index from the joined messages as from the originals (random runs)', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let joins = 0;
    for (let run = 0; run < 500; run++) {
      // The leader's log: terms rise now and then; the follower starts with a prefix of it, maybe with a stale tail.
      const leaderLog: Entry[] = [];
      let term = 1;
      for (let i = 1; i <= 30; i++) {
        if (rnd(8) === 0) term++;
        leaderLog.push(ent(i, term, 1 + rnd(40)));
      }
      const termAt = (i: number): number => (i === 0 ? 0 : leaderLog[i - 1]!.term);
      const msgs: Message[] = [];
      let next = 1 + rnd(10);
      let commit = rnd(next);
      for (let k = 0; k < 8; k++) {
        const r = rnd(6);
        if (r === 0) msgs.push(heartbeat(B, commit));
        else if (r === 1) next = Math.max(1, next - rnd(4)); // a resend from further back
        const n = r === 2 ? 0 : Math.min(rnd(4), 31 - next);
        const ents = leaderLog.slice(next - 1, next - 1 + n);
        if (rnd(2) === 0) commit = Math.min(next - 1 + n, commit + rnd(3));
        msgs.push(app(B, next - 1, termAt(next - 1), ents, commit, term));
        if (rnd(3) === 0) msgs.push(app(C, next - 1, termAt(next - 1), ents, commit, term));
        next += n;
      }
      const start = leaderLog.slice(0, rnd(10)).map((e) => ({ ...e, term: rnd(3) === 0 ? 0 : e.term }));
      const joined = joinAppends(msgs, rnd(2) === 0 ? 1 << 20 : 60);
      expect(joined.length).toBeLessThanOrEqual(msgs.length);
      joins += msgs.length - joined.length;
      expect(follow(start, joined)).toEqual(follow(start, msgs));
    }
    expect(joins).toBeGreaterThan(500); // the runs do exercise joining
  });
});

/** What follower B's log (index, term) and commit index are after the messages (Raft's append rules). */
function follow(start: Entry[], msgs: Message[]): { log: string; commit: number } {
  const log = start.map((e) => ({ index: e.index, term: e.term }));
  let commit = 0;
  for (const m of msgs) {
    if (m.to !== B) continue;
    if (m.type === MessageType.MsgHeartbeat) {
      commit = Math.max(commit, Math.min(m.commit, log.length));
      continue;
    }
    const termAt = m.index === 0 ? 0 : log[m.index - 1]?.term;
    if (termAt !== m.logTerm) continue; // rejected
    for (const e of m.entries) {
      const have = log[e.index - 1];
      if (have && have.term === e.term) continue;
      log.length = e.index - 1; // a conflict truncates the rest
      log.push({ index: e.index, term: e.term });
    }
    const lastNew = m.index + m.entries.length;
    commit = Math.max(commit, Math.min(m.commit, lastNew));
  }
  return { log: log.map((e) => `${e.index}/${e.term}`).join(' '), commit };
}
