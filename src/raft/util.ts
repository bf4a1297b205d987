// Small helpers shared by the core's files.

import { emptyConfState } from './codec.js';
import { type Entry, type EntryType, type HardState, type Message, type Snapshot, MessageType, NONE } from './types.js';

export const EMPTY_BYTES = new Uint8Array(0);

/**
 * A proposal's entry: term and index stay 0 until the leader appends it. Made here
 * with every field, in the order every entry has them (term, index, type, data,
 * encoded), so proposals share the hidden class of the entries decoded from the wire.
 */
export function proposalEntry(type: EntryType, data: Uint8Array): Entry {
  return { term: 0, index: 0, type, data, encoded: undefined };
}

/** Context marking a campaign started by leadership transfer (bypasses leases and pre-vote). */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

/** A vote request of a campaign the leader asked for (a leadership transfer). */
export function isTransferCampaign(m: Message): boolean {
  return (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) && bytesEqual(m.context, CAMPAIGN_TRANSFER);
}

/** Payload bytes, the measure used for message size and uncommitted-size limits. */
export function entrySize(e: Entry): number {
  return e.data.length + 16;
}

/** The bytes of data the entries carry: what the uncommitted-size, held-proposal and join bounds count. */
export function dataBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (let i = 0; i < ents.length; i++) n += ents[i].data.length;
  return n;
}

/**
 * Trim `ents` so the total size stays under maxSize, but always keep the first
 * entry: an oversized entry must still make progress.
 */
export function limitSize(ents: Entry[], maxSize: number | undefined): Entry[] {
  if (maxSize === undefined || ents.length <= 1) return ents;
  let size = entrySize(ents[0]);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: emptyConfState() }, data: EMPTY_BYTES };
}

/** The hard state of a member that has never voted, seen a term or a commit (not written to the WAL). */
export function isEmptyHardState(h: HardState): boolean {
  return h.term === 0 && h.vote === NONE && h.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function isEmptySnap(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

/** A message with every field defaulted; callers fill in what matters. */
export function newMessage(type: MessageType, to: bigint, from: bigint): Message {
  return { type, to, from, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, commitOnly: undefined };
}

export function isLocalMsg(t: MessageType): boolean {
  return (
    t === MessageType.MsgHup ||
    t === MessageType.MsgBeat ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgSnapStatus ||
    t === MessageType.MsgCheckQuorum
  );
}

export function isResponseMsg(t: MessageType): boolean {
  return (
    t === MessageType.MsgAppResp ||
    t === MessageType.MsgVoteResp ||
    t === MessageType.MsgHeartbeatResp ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgPreVoteResp
  );
}

export function voteRespType(t: MessageType): MessageType {
  if (t === MessageType.MsgVote) return MessageType.MsgVoteResp;
  if (t === MessageType.MsgPreVote) return MessageType.MsgPreVoteResp;
  throw new Error(`not a vote message: ${t}`);
}

/** Byte arrays as map keys: a latin1 string keeps it cheap and exact. */
export function bytesKey(b: Uint8Array | undefined): string {
  if (!b || b.length === 0) return '';
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  const la = a ? a.length : 0;
  const lb = b ? b.length : 0;
  if (la !== lb) return false;
  for (let i = 0; i < la; i++) if (a![i] !== b![i]) return false;
  return true;
}
