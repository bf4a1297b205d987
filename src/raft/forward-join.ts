// A proposal forwarded to the leader right after another one to the same leader
// (from the same sender) joins it: one message with both entries, not one
// message, encoding, frame and step per proposal. The leader takes a MsgProp as a
// whole, as it would take the two one after the other; up to a message's size
// limit of data per message. Only the newest message of the outbox is joined, so
// the order of the outbox is kept.

import type { Message } from './types.js';
import { dataBytes } from './util.js';

export class ProposalJoiner {
  /** The last MsgProp queued and the bytes of data it carries. */
  private tail: { m: Message; bytes: number; ownEntries: boolean } | undefined;

  /**
   * `m` is a MsgProp about to be queued on `outbox`: true if it was joined to the
   * outbox's last message (and must not be queued), false if it is to be queued
   * as it is (it becomes the message later ones may join).
   */
  join(outbox: readonly Message[], m: Message, maxBytes: number): boolean {
    const bytes = dataBytes(m.entries);
    const tail = this.tail;
    const last = outbox.length > 0 ? outbox[outbox.length - 1] : undefined;
    if (tail !== undefined && last === tail.m && last.to === m.to && last.from === m.from && tail.bytes + bytes <= maxBytes) {
      // The first join copies the array: the one it came with may be someone else's.
      if (!tail.ownEntries) last.entries = last.entries.slice();
      tail.ownEntries = true;
      for (let i = 0; i < m.entries.length; i++) last.entries.push(m.entries[i]);
      tail.bytes += bytes;
      return true;
    }
    this.tail = { m, bytes, ownEntries: false };
    return false;
  }
}
