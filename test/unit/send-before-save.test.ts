// When a Ready's messages may leave (src/server/send-before-save.ts): before the
// Ready's write, after it, or once the event loop's turn is over.

import { describe, expect, it } from 'vitest';
import { type Message, MessageType } from '../../src/raft/types.js';
import { onlyAcknowledgements, splitBeforeSave } from '../../src/server/send-before-save.js';

const m = (type: MessageType, to = 2n): Message => ({
  type,
  from: 1n,
  to,
  term: 3,
  logTerm: 3,
  index: 7,
  entries: [],
  commit: 6,
  reject: false,
  rejectHint: 0,
});

describe('splitBeforeSave', () => {
  it("a leader's appends and heartbeats, and anyone's forwarded proposals, go before the write; the rest after, in order", () => {
    const app = m(MessageType.MsgApp);
    const hb = m(MessageType.MsgHeartbeat, 3n);
    const vote = m(MessageType.MsgVoteResp);
    const prop = m(MessageType.MsgProp);
    expect(splitBeforeSave([app, vote, hb, prop], true)).toEqual({ now: [app, hb, prop], later: [vote] });
    // A follower's acknowledgements promise what it wrote: they wait; its proposals do not.
    const ack = m(MessageType.MsgAppResp);
    expect(splitBeforeSave([ack, prop], false)).toEqual({ now: [prop], later: [ack] });
    // No copies when everything goes one way.
    const all = [app, hb];
    expect(splitBeforeSave(all, true).now).toBe(all);
    const none = [ack];
    expect(splitBeforeSave(none, false).later).toBe(none);
  });
});

describe('onlyAcknowledgements', () => {
  it('is true for appends and heartbeats acknowledged, and for nothing else among them', () => {
    expect(onlyAcknowledgements([m(MessageType.MsgAppResp), m(MessageType.MsgHeartbeatResp, 3n)])).toBe(true);
    expect(onlyAcknowledgements([])).toBe(true);
    for (const t of [MessageType.MsgProp, MessageType.MsgReadIndex, MessageType.MsgVoteResp, MessageType.MsgApp, MessageType.MsgTimeoutNow]) {
      expect(onlyAcknowledgements([m(MessageType.MsgAppResp), m(t)])).toBe(false);
    }
  });
});
