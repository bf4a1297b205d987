// A leader's Ready often holds two appends for the same follower: the entries
// proposed while the previous write was on disk, and the empty MsgApp that tells
// the follower the new commit index once the previous batch's acks came in (Raft
// broadcasts one on every commit advance). Sent as they are, each costs an
// encode, a socket write, the follower's decode, step and acknowledgement, and
// the leader's decode and step of that acknowledgement; at 16 clients about half
// of a leader's appends were these empty ones. Joined, the follower gets the
// same entries and the same commit index in one message and answers once
// (a commit-only notice joined to entries is no longer commit-only).

import { dataBytes } from '../raft/index.js';
import { type Message, MessageType } from '../raft/types.js';

/**
 * `messages` with every MsgApp that directly continues the previous message to
 * the same peer (itself a MsgApp: same term and sender, its entries start right
 * after the other's, at the term the other ends with) joined into that one:
 * the entries of both, the later commit index. Messages to other peers in
 * between do not matter (each peer has its own stream); any other message to the
 * same peer ends the run, so the order each peer sees is kept. A join stays
 * within `maxBytes` of entry data (the core's own limit per message). The
 * follower ends up in the state the two messages would have left it in, and its
 * one acknowledgement covers both. Nothing is changed in place: a joined message
 * is a new object, and `messages` itself is returned when nothing was joined.
 */
export function joinAppends(messages: Message[], maxBytes: number): Message[] {
  if (messages.length < 2 || !someAppendRepeatsPeer(messages)) return messages;
  let out: Message[] | undefined;
  // Per peer seen so far: where its last message is in the output (-1: not a MsgApp) and that message's data bytes.
  const peers: bigint[] = [];
  const at: number[] = [];
  const bytes: number[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    let p = peers.indexOf(m.to);
    if (p < 0) {
      p = peers.length;
      peers.push(m.to);
      at.push(-1);
      bytes.push(0);
    }
    const pos = out ? out.length : i;
    if (m.type !== MessageType.MsgApp) {
      at[p] = -1;
      out?.push(m);
      continue;
    }
    const size = dataBytes(m.entries);
    const prevAt = at[p]!;
    if (prevAt >= 0) {
      const prev = (out ?? messages)[prevAt]!;
      if (continues(prev, m) && bytes[p]! + size <= maxBytes) {
        out ??= messages.slice(0, i);
        out[prevAt] = {
          ...prev,
          entries: prev.entries.length === 0 ? m.entries : m.entries.length === 0 ? prev.entries : prev.entries.concat(m.entries),
          commit: m.commit,
          // Commit-only (unanswered) only if both were: a notice joined to entries must be acknowledged.
          commitOnly: prev.commitOnly === true && m.commitOnly === true ? true : undefined,
        };
        bytes[p] = bytes[p]! + size;
        continue;
      }
    }
    at[p] = pos;
    bytes[p] = size;
    out?.push(m);
  }
  return out ?? messages;
}

/** Whether `next` picks up exactly where `prev` (both appends) leaves the follower's log. */
function continues(prev: Message, next: Message): boolean {
  if (prev.term !== next.term || prev.from !== next.from || next.commit < prev.commit) return false;
  const n = prev.entries.length;
  if (next.index !== prev.index + n) return false;
  const endTerm = n === 0 ? prev.logTerm : prev.entries[n - 1]!.term;
  return next.logTerm === endTerm;
}

/**
 * Whether some MsgApp comes after another message to the same peer: only then
 * can anything be joined. The common Ready (one append per follower) is answered
 * here without the per-peer tables joinAppends builds (~1 KB a Ready in a heap
 * profile of a leader at one client). True (maybe) for a long list.
 */
function someAppendRepeatsPeer(messages: readonly Message[]): boolean {
  if (messages.length > 32) return true; // quadratic below: the tables are cheaper for long lists
  for (let i = 1; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.type !== MessageType.MsgApp) continue;
    for (let j = 0; j < i; j++) if (messages[j]!.to === m.to) return true;
  }
  return false;
}
