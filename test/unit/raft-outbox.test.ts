// RaftOutbox: how the driver's messages leave. Snapshots get their state first
// (asynchronously) while the messages beside them go at once; a failed
// preparation is reported, not sent; acknowledgements may wait for the turn's end.

import { describe, expect, it } from 'vitest';
import { RaftOutbox } from '../../src/server/raft-outbox.js';
import { type Message, MessageType } from '../../src/raft/types.js';
import { newMessage } from '../../src/raft/util.js';
import { ManualClock } from '../sim/ports.js';

const B = 2n;
const C = 3n;

function msg(type: MessageType, to: bigint): Message {
  const m = newMessage(type, to, 1n);
  m.term = 5;
  return m;
}

function setup(opts: { withSendSoon?: boolean; withWriteQueued?: boolean; prepare?: (m: Message) => Promise<Message> } = {}) {
  const sent: Message[][] = [];
  const soon: Message[][] = [];
  const failures: [bigint, string][] = [];
  const writes = { count: 0 };
  const transport = {
    send: (ms: Message[]) => void sent.push(ms),
    ...(opts.withSendSoon ? { sendSoon: (ms: Message[]) => void soon.push(ms) } : {}),
    ...(opts.withWriteQueued ? { writeQueued: () => void writes.count++ } : {}),
  };
  const out = new RaftOutbox(transport, new ManualClock(), {
    prepare: opts.prepare ?? (async (m) => ({ ...m, commit: 99 })),
    failed: (to, err) => void failures.push([to, err.message]),
  });
  return { out, sent, soon, failures, writes };
}

describe('RaftOutbox', () => {
  it('passes plain messages through as they are', () => {
    const { out, sent } = setup();
    const batch = [msg(MessageType.MsgHeartbeat, B), msg(MessageType.MsgAppResp, C)];
    out.send(batch);
    expect(sent).toEqual([batch]);
    expect(sent[0]).toBe(batch);
  });

  it('sends a snapshot once its state is prepared, the messages beside it at once', async () => {
    const { out, sent } = setup();
    const hb = msg(MessageType.MsgHeartbeat, C);
    const snap = msg(MessageType.MsgSnap, B);
    out.send([snap, hb]);
    expect(sent).toEqual([[hb]]);
    await Promise.resolve();
    await Promise.resolve();
    expect(sent.length).toBe(2);
    expect(sent[1]!.map((m) => [m.type, m.to, m.commit])).toEqual([[MessageType.MsgSnap, B, 99]]);
  });

  it('reports a snapshot it could not prepare and sends nothing for it', async () => {
    const { out, sent, failures } = setup({ prepare: () => Promise.reject(new Error('no state')) });
    out.send([msg(MessageType.MsgSnap, B)]);
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([]);
    expect(failures).toEqual([[B, 'no state']]);
  });

  it('sendSoon uses the transport\'s sendSoon when it has one, send otherwise', () => {
    const a = setup({ withSendSoon: true });
    const batch = [msg(MessageType.MsgAppResp, B)];
    a.out.sendSoon(batch);
    expect(a.soon).toEqual([batch]);
    expect(a.sent).toEqual([]);
    const b = setup();
    b.out.sendSoon(batch);
    expect(b.sent).toEqual([batch]);
  });

  it("writeQueued asks the transport to write what it queued, when it can; a no-op otherwise", () => {
    const a = setup({ withWriteQueued: true });
    a.out.send([msg(MessageType.MsgAppResp, B)]);
    a.out.writeQueued();
    expect(a.writes.count).toBe(1);
    expect(a.sent).toHaveLength(1);
    const b = setup();
    b.out.send([msg(MessageType.MsgAppResp, B)]);
    expect(() => b.out.writeQueued()).not.toThrow();
    expect(b.sent).toHaveLength(1);
  });

  it('holds a commit notice until flushNotices, and drops it on discard', () => {
    const { out, sent } = setup();
    const notice = msg(MessageType.MsgApp, B);
    out.send([notice]);
    expect(sent).toEqual([]);
    out.flushNotices();
    expect(sent).toEqual([[notice]]);
    out.send([msg(MessageType.MsgApp, C)]);
    out.discard();
    out.flushNotices();
    expect(sent).toEqual([[notice]]);
  });
});
