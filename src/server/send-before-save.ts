// Which of a Ready's messages may leave before that Ready's write is on disk.
//
// A leader's appends and heartbeats go out before its own write, so the
// followers' fsyncs run in parallel with the leader's (Raft thesis §10.2.1): the
// leader counts its own copy only once it is on disk. So do proposals a follower
// forwards: they promise nothing about this member's log. Everything else
// (votes, acknowledgements) must wait until what it promises is durable.
//
// And which may wait for the end of this turn of the event loop: a follower's
// acknowledgements in a Ready that applied entries and wrote nothing (a heartbeat
// that carried the commit, or a notice that was not commit-only: the leader
// needs no answer to a commit-only one, raft/types.ts). The leader needs them
// for nothing urgent (it already committed), and the client that follower
// answers needs its socket write first (raft-node.ts).

import { type Message, MessageType } from '../raft/types.js';

const NO_MESSAGES: Message[] = [];

/**
 * `messages` split into those that may be sent now and those that wait for the
 * write, each in the original order. No copies in the common cases (all of
 * them one way): the caller's array comes back as one half.
 */
export function splitBeforeSave(messages: Message[], leader: boolean): { now: Message[]; later: Message[] } {
  let now = 0;
  for (const m of messages) if (goesBeforeSave(m, leader)) now++;
  if (now === messages.length) return { now: messages, later: NO_MESSAGES };
  if (now === 0) return { now: NO_MESSAGES, later: messages };
  return {
    now: messages.filter((m) => goesBeforeSave(m, leader)),
    later: messages.filter((m) => !goesBeforeSave(m, leader)),
  };
}

/** Whether `m` may leave before the write of the Ready it came in. */
export function goesBeforeSave(m: Message, leader: boolean): boolean {
  return m.type === MessageType.MsgProp || (leader && isLeaderBroadcast(m));
}

function isLeaderBroadcast(m: Message): boolean {
  // A leader's hint that its log is on disk speaks of an earlier write, not this one.
  return m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgLeaderPersisted;
}

/** Every message an acknowledgement (of an append or a heartbeat). */
export function onlyAcknowledgements(messages: readonly Message[]): boolean {
  for (const m of messages) {
    if (m.type !== MessageType.MsgAppResp && m.type !== MessageType.MsgHeartbeatResp) return false;
  }
  return true;
}
