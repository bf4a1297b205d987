// CommitNoticeDelay: a leader's empty MsgApps (commit notices) wait up to the delay
// for the next append to the same follower, which replaces them; any other message
// to that follower sends them first; the timer sends what is left. A notice that
// commits what a follower's forwarded proposals reached goes at once.

import { describe, expect, it } from 'vitest';
import { CommitNoticeDelay } from '../../src/server/commit-notices.js';
import { type Entry, EntryType, type Message, MessageType } from '../../src/raft/types.js';
import { newMessage } from '../../src/raft/util.js';
import { ManualClock } from '../sim/ports.js';

const B = 2n;
const C = 3n;

function ent(index: number): Entry {
  return { index, term: 5, type: EntryType.Normal, data: new Uint8Array(8), encoded: undefined };
}

function app(to: bigint, index: number, entries: Entry[], commit: number, term = 5): Message {
  const m = newMessage(MessageType.MsgApp, to, 1n);
  m.term = term;
  m.index = index;
  m.logTerm = 5;
  m.entries = entries;
  m.commit = commit;
  return m;
}

function msg(type: MessageType, to: bigint): Message {
  const m = newMessage(type, to, 1n);
  m.term = 5;
  return m;
}

function setup(delayMs = 1) {
  const clock = new ManualClock();
  const sent: Message[][] = [];
  const delay = new CommitNoticeDelay({ send: (ms) => sent.push(ms) }, clock, delayMs);
  const flat = () => sent.flat();
  return { clock, sent, delay, flat };
}

describe('CommitNoticeDelay', () => {
  it('holds an empty MsgApp until the delay is over, then sends it', () => {
    const { clock, delay, flat } = setup(1);
    const notice = app(B, 10, [], 10);
    delay.send([notice]);
    expect(flat()).toEqual([]);
    clock.advance(0.5);
    expect(flat()).toEqual([]);
    clock.advance(0.5);
    expect(flat()).toEqual([notice]);
    expect(clock.timerCount).toBe(0);
  });

  it('drops a held notice when the next append to that follower goes out first', () => {
    const { clock, delay, flat } = setup();
    delay.send([app(B, 10, [], 10)]);
    const next = app(B, 10, [ent(11)], 10);
    delay.send([next]);
    clock.advance(5);
    expect(flat()).toEqual([next]);
  });

  it('sends a held notice before any other message to the same follower, keeping their order', () => {
    const { clock, delay, sent } = setup();
    const notice = app(B, 10, [], 10);
    delay.send([notice]);
    const hb = msg(MessageType.MsgHeartbeat, B);
    const readIndexResp = msg(MessageType.MsgReadIndexResp, B);
    delay.send([hb, readIndexResp]);
    expect(sent).toEqual([[notice, hb, readIndexResp]]);
    clock.advance(5);
    expect(sent.length).toBe(1);
  });

  it('keeps followers apart: a message to one neither sends nor drops what is held for another', () => {
    const { clock, delay, flat } = setup();
    const toB = app(B, 10, [], 10);
    delay.send([toB]);
    const toC = app(C, 9, [ent(10), ent(11)], 10);
    const hbC = msg(MessageType.MsgHeartbeat, C);
    delay.send([toC, hbC]);
    expect(flat()).toEqual([toC, hbC]);
    clock.advance(1);
    expect(flat()).toEqual([toC, hbC, toB]);
  });

  it('a newer notice replaces the one held, and one timer covers every follower', () => {
    const { clock, delay, sent } = setup();
    delay.send([app(B, 10, [], 10), app(C, 10, [], 10)]);
    clock.advance(0.5);
    const newerB = app(B, 11, [], 11);
    delay.send([newerB]);
    expect(sent).toEqual([]);
    clock.advance(0.5);
    expect(sent.length).toBe(1);
    expect(sent[0]!.map((m) => [m.to, m.commit])).toEqual([
      [B, 11],
      [C, 10],
    ]);
  });

  it('passes everything else through at once, as the same array when nothing is held', () => {
    const { delay, sent } = setup();
    const batch = [app(B, 10, [ent(11)], 10), msg(MessageType.MsgHeartbeat, C), msg(MessageType.MsgSnap, B)];
    delay.send(batch);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBe(batch);
  });

  it('holds only the notices of a mixed batch and sends the rest in their order', () => {
    const { clock, delay, sent } = setup();
    const a = app(B, 10, [ent(11)], 10);
    const notice = app(C, 11, [], 11);
    const hb = msg(MessageType.MsgHeartbeat, B);
    delay.send([a, notice, hb]);
    expect(sent).toEqual([[a, hb]]);
    clock.advance(1);
    expect(sent).toEqual([[a, hb], [notice]]);
  });

  it('with a delay of 0 sends every message at once', () => {
    const { delay, sent } = setup(0);
    const batch = [app(B, 10, [], 10)];
    delay.send(batch);
    expect(sent).toEqual([batch]);
  });

  it('flush() sends what is held now; discard() drops it and its timer', () => {
    const a = setup();
    const notice = app(B, 10, [], 10);
    a.delay.send([notice]);
    a.delay.flush();
    expect(a.flat()).toEqual([notice]);
    expect(a.clock.timerCount).toBe(0);

    const b = setup();
    b.delay.send([app(B, 10, [], 10)]);
    b.delay.discard();
    b.clock.advance(5);
    expect(b.flat()).toEqual([]);
    expect(b.clock.timerCount).toBe(0);
  });

  it('sends at once the notice that commits a follower\'s forwarded proposals, and only that one', () => {
    const { clock, delay, sent } = setup();
    delay.awaitCommit(B, 12);
    const early = app(B, 11, [], 11); // commits less than B's proposals reached: held
    delay.send([early]);
    expect(sent).toEqual([]);
    const covering = app(B, 12, [], 12);
    const toC = app(C, 12, [], 12); // C forwarded nothing: held
    delay.send([covering, toC]);
    expect(sent).toEqual([[covering]]); // the older held notice to B is dropped, not sent
    const later = app(B, 13, [], 13); // the wait is over: held again
    delay.send([later]);
    expect(sent).toEqual([[covering]]);
    clock.advance(1);
    // Both held notices, in one send (their order across followers means nothing: each has its own stream).
    expect(sent).toHaveLength(2);
    expect(sent[1]).toHaveLength(2);
    expect(sent[1]).toEqual(expect.arrayContaining([toC, later]));
  });

  it('an append or heartbeat carrying the awaited commit ends the wait; the highest index is kept', () => {
    const { clock, delay, sent } = setup();
    delay.awaitCommit(B, 12);
    delay.awaitCommit(B, 10); // lower: ignored
    const hb = msg(MessageType.MsgHeartbeat, B);
    hb.commit = 11;
    delay.send([hb]); // commits 11 < 12: the wait goes on
    const append = app(B, 12, [ent(13)], 12);
    delay.send([append]); // commits 12: B has seen it
    const notice = app(B, 13, [], 13);
    delay.send([notice]);
    expect(sent).toEqual([[hb], [append]]);
    clock.advance(1);
    expect(sent).toEqual([[hb], [append], [notice]]);
  });

  it('once nothing is held any more, arms no timer and passes messages through as the same array', () => {
    const { clock, delay, sent } = setup();
    delay.awaitCommit(B, 12);
    delay.send([app(B, 11, [], 11)]); // held
    delay.send([app(C, 11, [], 11)]); // held
    delay.send([app(B, 11, [ent(12)], 12)]); // drops B's, ends B's wait
    clock.advance(1); // C's goes
    expect(sent.flat().map((m) => [m.to, m.entries.length])).toEqual([
      [B, 1],
      [C, 0],
    ]);
    const batch = [msg(MessageType.MsgHeartbeat, B), msg(MessageType.MsgHeartbeat, C)];
    delay.send(batch);
    expect(sent.at(-1)).toBe(batch);
    expect(clock.timerCount).toBe(0);
    const notice = app(B, 12, [], 12); // B waits for nothing now: held
    delay.send([notice]);
    expect(sent.at(-1)).toBe(batch);
    expect(clock.timerCount).toBe(1);
  });

  it('with a delay of 0, or after discard(), nothing is awaited', () => {
    const a = setup(0);
    a.delay.awaitCommit(B, 5);
    const n = app(B, 5, [], 5);
    a.delay.send([n]);
    expect(a.sent).toEqual([[n]]);

    const b = setup();
    b.delay.awaitCommit(B, 5);
    b.delay.discard();
    b.delay.send([app(B, 5, [], 5)]);
    expect(b.sent).toEqual([]);
    b.clock.advance(1);
    expect(b.sent).toHaveLength(1);
  });
});
