// Binary encoding of the Raft data types, in protobuf wire format laid out as in
// proto/raftpb.proto (field numbers follow etcd's raftpb so the bytes are familiar
// to anyone who has debugged etcd). Used by the WAL, the snapshot files and the
// peer transport.

import { logArena } from './arena.js';
import { WireReader, WireWriter, bytesFieldSize, idFieldSize, uintFieldSize, varintSize } from './wire.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type Snapshot,
  type SnapshotMetadata,
  EntryType,
} from './types.js';

function writeEntry(w: WireWriter, e: Entry): void {
  w.uint(1, e.type).uint(2, e.term).uint(3, e.index).bytes(4, e.data);
}

/** Bytes writeEntry writes for `e` (fields under 16: one-byte tags; zeros and empty data omitted). */
function entrySize(e: Entry): number {
  return uintFieldSize(e.type) + uintFieldSize(e.term) + uintFieldSize(e.index) + bytesFieldSize(e.data);
}

/**
 * The entry's encoding. An entry in the log (index > 0) is encoded once: the
 * bytes are kept on it (Entry.encoded) for the WAL and every follower's MsgApp,
 * and its data becomes a view into them, so the entry holds one buffer, not two.
 */
export function encodeEntry(e: Entry): Uint8Array {
  if (e.encoded !== undefined) return e.encoded;
  const n = entrySize(e);
  if (e.index === 0) {
    // A proposal not yet in the log: its term and index are still to be set.
    const w = WireWriter.exact(n);
    writeEntry(w, e);
    return w.finish();
  }
  const w = WireWriter.into(logArena.bytes(n));
  writeEntry(w, e);
  const out = w.finish();
  // data is the last field written.
  if (e.data.length > 0) e.data = out.subarray(n - e.data.length);
  e.encoded = out;
  return out;
}

/**
 * Decodes an entry; its data is a view into `buf`. A log entry keeps `buf` as its
 * encoding when it has the canonical size: unknown fields, explicit zeros, padded
 * varints or repeated fields all make it longer, and the one same-size difference
 * left, another field order, decodes to the same entry.
 */
export function decodeEntry(buf: Uint8Array): Entry {
  const r = new WireReader(buf);
  const e: Entry = { term: 0, index: 0, type: EntryType.Normal, data: EMPTY, encoded: undefined };
  while (!r.done()) {
    const t = r.varint();
    const f = Math.floor(t / 8);
    if (f === 1) e.type = r.varint();
    else if (f === 2) e.term = r.varint();
    else if (f === 3) e.index = r.varint();
    else if (f === 4) e.data = r.bytes();
    else r.skip(t % 8);
  }
  if (e.index > 0 && buf.length === entrySize(e)) e.encoded = buf;
  return e;
}

const EMPTY = new Uint8Array(0);

export function encodeHardState(h: HardState): Uint8Array {
  const n = uintFieldSize(h.term) + idFieldSize(h.vote) + uintFieldSize(h.commit);
  return WireWriter.exact(n).uint(1, h.term).uint64(2, h.vote).uint(3, h.commit).finish();
}

export function decodeHardState(buf: Uint8Array): HardState {
  const r = new WireReader(buf);
  const h: HardState = { term: 0, vote: 0n, commit: 0 };
  while (!r.done()) {
    const [f, wt] = r.tag();
    if (f === 1) h.term = r.varint();
    else if (f === 2) h.vote = r.bigVarint();
    else if (f === 3) h.commit = r.varint();
    else r.skip(wt);
  }
  return h;
}

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

function writeConfState(w: WireWriter, c: ConfState): void {
  for (const id of c.voters) w.uint64(1, id);
  for (const id of c.learners) w.uint64(2, id);
  for (const id of c.votersOutgoing) w.uint64(3, id);
  for (const id of c.learnersNext) w.uint64(4, id);
  w.bool(5, c.autoLeave);
}

export function encodeConfState(c: ConfState): Uint8Array {
  const w = new WireWriter();
  writeConfState(w, c);
  return w.finish();
}

export function decodeConfState(buf: Uint8Array): ConfState {
  const r = new WireReader(buf);
  const c = emptyConfState();
  while (!r.done()) {
    const [f, wt] = r.tag();
    if (f === 1) c.voters.push(r.bigVarint());
    else if (f === 2) c.learners.push(r.bigVarint());
    else if (f === 3) c.votersOutgoing.push(r.bigVarint());
    else if (f === 4) c.learnersNext.push(r.bigVarint());
    else if (f === 5) c.autoLeave = r.varint() !== 0;
    else r.skip(wt);
  }
  return c;
}

export function encodeSnapshotMetadata(m: SnapshotMetadata): Uint8Array {
  return new WireWriter()
    .message(1, (w) => writeConfState(w, m.confState))
    .uint(2, m.index)
    .uint(3, m.term)
    .finish();
}

export function decodeSnapshotMetadata(buf: Uint8Array): SnapshotMetadata {
  const r = new WireReader(buf);
  const m: SnapshotMetadata = { index: 0, term: 0, confState: emptyConfState() };
  while (!r.done()) {
    const [f, wt] = r.tag();
    if (f === 1) m.confState = decodeConfState(r.bytes());
    else if (f === 2) m.index = r.varint();
    else if (f === 3) m.term = r.varint();
    else r.skip(wt);
  }
  return m;
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  return new WireWriter(s.data.length + 64)
    .bytes(1, s.data)
    .bytes(2, encodeSnapshotMetadata(s.metadata), true)
    .finish();
}

export function decodeSnapshot(buf: Uint8Array): Snapshot {
  const r = new WireReader(buf);
  const s: Snapshot = { data: new Uint8Array(0), metadata: { index: 0, term: 0, confState: emptyConfState() } };
  while (!r.done()) {
    const [f, wt] = r.tag();
    if (f === 1) s.data = r.bytes();
    else if (f === 2) s.metadata = decodeSnapshotMetadata(r.bytes());
    else r.skip(wt);
  }
  return s;
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return new WireWriter().uint(2, cc.type).uint64(3, cc.nodeId).bytes(4, cc.context).finish();
}

export function decodeConfChange(buf: Uint8Array): ConfChange {
  const r = new WireReader(buf);
  const cc: ConfChange = { type: 0, nodeId: 0n, context: new Uint8Array(0) };
  while (!r.done()) {
    const [f, wt] = r.tag();
    if (f === 2) cc.type = r.varint();
    else if (f === 3) cc.nodeId = r.bigVarint();
    else if (f === 4) cc.context = r.bytes();
    else r.skip(wt);
  }
  return cc;
}

export function encodeMessage(m: Message): Uint8Array {
  // The leader sends every MsgApp to each follower: a log entry's bytes come from
  // its encoding (encodeEntry, computed once per entry), and the message is sized
  // exactly and written into one buffer, with no growing, trimming or zero fill
  // (issue #12, docs/PERFORMANCE.md). A proposal's entries (index 0, forwarded to
  // the leader) are written in place.
  const ents = m.entries;
  let entriesSize = 0;
  for (let i = 0; i < ents.length; i++) {
    const e = ents[i]!;
    const n = e.index > 0 ? encodeEntry(e).length : entrySize(e);
    entriesSize += 1 + varintSize(n) + n;
  }
  const snapshot = m.snapshot ? encodeSnapshot(m.snapshot) : undefined;
  const size =
    uintFieldSize(m.type) +
    idFieldSize(m.to) +
    idFieldSize(m.from) +
    uintFieldSize(m.term) +
    uintFieldSize(m.logTerm) +
    uintFieldSize(m.index) +
    entriesSize +
    uintFieldSize(m.commit) +
    bytesFieldSize(snapshot, true) +
    (m.reject ? 2 : 0) +
    uintFieldSize(m.rejectHint) +
    bytesFieldSize(m.context) +
    (m.commitOnly ? 2 : 0);
  const w = WireWriter.exact(size);
  w.uint(1, m.type)
    .uint64(2, m.to)
    .uint64(3, m.from)
    .uint(4, m.term)
    .uint(5, m.logTerm)
    .uint(6, m.index);
  for (let i = 0; i < ents.length; i++) {
    const e = ents[i]!;
    if (e.index > 0) w.bytes(7, encodeEntry(e), true);
    else w.sizedMessage(7, entrySize(e), (ew) => writeEntry(ew, e));
  }
  w.uint(8, m.commit);
  if (snapshot) w.bytes(9, snapshot, true);
  w.bool(10, m.reject).uint(11, m.rejectHint).bytes(12, m.context).bool(13, m.commitOnly === true);
  return w.finish();
}

export function decodeMessage(buf: Uint8Array): Message {
  const r = new WireReader(buf);
  const m: Message = {
    type: 0,
    to: 0n,
    from: 0n,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    // Present on every message (as newMessage makes them), so setting it keeps the shape.
    commitOnly: undefined,
  };
  while (!r.done()) {
    const t = r.varint();
    const wt = t % 8;
    switch (Math.floor(t / 8)) {
      case 1: m.type = r.varint(); break;
      case 2: m.to = r.id(); break;
      case 3: m.from = r.id(); break;
      case 4: m.term = r.varint(); break;
      case 5: m.logTerm = r.varint(); break;
      case 6: m.index = r.varint(); break;
      case 7: m.entries.push(decodeEntry(r.bytes())); break;
      case 8: m.commit = r.varint(); break;
      case 9: m.snapshot = decodeSnapshot(r.bytes()); break;
      case 10: m.reject = r.varint() !== 0; break;
      case 11: m.rejectHint = r.varint(); break;
      case 12: m.context = r.bytes(); break;
      case 13: if (r.varint() !== 0) m.commitOnly = true; break;
      default: r.skip(wt);
    }
  }
  return m;
}
