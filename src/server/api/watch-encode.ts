// WatchResponse wire encoding, done by hand for fan-out: a revision watched by
// a thousand watchers is a thousand responses carrying the same events, so each
// event is encoded once (cached on the event object) and every response is its
// own small header plus those shared bytes. Also etcd's fragmentation
// (v3rpc/watch.go sendFragments) on exact encoded sizes.
//
// Layout (proto/etcdserverpb/rpc.proto, proto/mvccpb/kv.proto):
//   WatchResponse  1 header, 2 watch_id, 3 created, 4 canceled,
//                  5 compact_revision, 6 cancel_reason, 7 fragment, 11 events
//   ResponseHeader 1 cluster_id, 2 member_id, 3 revision, 4 raft_term
//   Event          1 type (DELETE = 1), 2 kv, 3 prev_kv

import { encodeKeyValue } from '../../mvcc/kv-codec.js';
import { varintSize as varintLen, writeVarint } from '../../pb/wire.js';
import type { Event, KeyValue } from '../../mvcc/types.js';

export interface HeaderFields {
  clusterId: bigint;
  memberId: bigint;
  revision: number;
  raftTerm: bigint;
}

export interface ResponseFields {
  /** The ResponseHeader message, encoded (encodeHeader): shared by every response at one revision. */
  header: Buffer;
  watchId: bigint;
  created?: boolean;
  canceled?: boolean;
  compactRevision?: number;
  cancelReason?: string;
  fragment?: boolean;
}

/** A length-delimited field's full size: tag + length varint + body. */
const fieldLen = (bodyLen: number): number => 1 + varintLen(bodyLen) + bodyLen;

function writeBytesField(buf: Buffer, o: number, tag: number, body: Uint8Array): number {
  buf[o++] = tag;
  o = writeVarint(buf, o, body.length);
  buf.set(body, o);
  return o + body.length;
}

const eventCache = new WeakMap<Event, Buffer>();
const withPrevCache = new WeakMap<Event, Buffer>();

/** An Event message (type, kv, and prev_kv when given). Cached per event object. */
export function encodeEvent(ev: Event, prevKv?: KeyValue): Buffer {
  const cache = prevKv === undefined ? eventCache : withPrevCache;
  const hit = cache.get(ev);
  if (hit !== undefined) return hit;
  const kv = encodeKeyValue(ev.kv);
  const prev = prevKv === undefined ? undefined : encodeKeyValue(prevKv);
  const del = ev.type === 'DELETE';
  const buf = Buffer.allocUnsafe((del ? 2 : 0) + fieldLen(kv.length) + (prev ? fieldLen(prev.length) : 0));
  let o = 0;
  if (del) { buf[o++] = 0x08; buf[o++] = 1; }
  o = writeBytesField(buf, o, 0x12, kv);
  if (prev) o = writeBytesField(buf, o, 0x1a, prev);
  cache.set(ev, buf);
  return buf;
}

/** A ResponseHeader message body (zero fields left out, as proto3 does). */
export function encodeHeader(h: HeaderFields): Buffer {
  let n = 0;
  if (h.clusterId !== 0n) n += 1 + varintLen(h.clusterId);
  if (h.memberId !== 0n) n += 1 + varintLen(h.memberId);
  if (h.revision !== 0) n += 1 + varintLen(h.revision);
  if (h.raftTerm !== 0n) n += 1 + varintLen(h.raftTerm);
  const buf = Buffer.allocUnsafe(n);
  let o = 0;
  if (h.clusterId !== 0n) { buf[o++] = 0x08; o = writeVarint(buf, o, h.clusterId); }
  if (h.memberId !== 0n) { buf[o++] = 0x10; o = writeVarint(buf, o, h.memberId); }
  if (h.revision !== 0) { buf[o++] = 0x18; o = writeVarint(buf, o, h.revision); }
  if (h.raftTerm !== 0n) { buf[o++] = 0x20; o = writeVarint(buf, o, h.raftTerm); }
  return buf;
}

/** Size of everything but the events. */
function fixedLen(r: ResponseFields, reason: Buffer | undefined): number {
  let n = fieldLen(r.header.length); // etcd always sets the header
  if (r.watchId !== 0n) n += 1 + varintLen(r.watchId);
  if (r.created) n += 2;
  if (r.canceled) n += 2;
  if (r.compactRevision) n += 1 + varintLen(r.compactRevision);
  if (reason && reason.length > 0) n += fieldLen(reason.length);
  if (r.fragment) n += 2;
  return n;
}

/** Bytes before each message on a gRPC stream: a compressed flag and a big-endian length. */
export const GRPC_PREFIX_BYTES = 5;

/**
 * One WatchResponse message; with `framed`, preceded by its gRPC prefix (ready
 * to go on the HTTP/2 stream as it is).
 */
export function encodeWatchResponse(r: ResponseFields, events: readonly Buffer[] = [], framed = false): Buffer {
  const reason = r.cancelReason ? Buffer.from(r.cancelReason) : undefined;
  let size = fixedLen(r, reason);
  for (const e of events) size += fieldLen(e.length);
  const pre = framed ? GRPC_PREFIX_BYTES : 0;
  const buf = Buffer.allocUnsafe(pre + size);
  if (framed) {
    buf[0] = 0;
    buf.writeUInt32BE(size, 1);
  }
  let o = writeBytesField(buf, pre, 0x0a, r.header);
  if (r.watchId !== 0n) { buf[o++] = 0x10; o = writeVarint(buf, o, r.watchId); }
  if (r.created) { buf[o++] = 0x18; buf[o++] = 1; }
  if (r.canceled) { buf[o++] = 0x20; buf[o++] = 1; }
  if (r.compactRevision) { buf[o++] = 0x28; o = writeVarint(buf, o, r.compactRevision); }
  if (reason && reason.length > 0) o = writeBytesField(buf, o, 0x32, reason);
  if (r.fragment) { buf[o++] = 0x38; buf[o++] = 1; }
  for (const e of events) o = writeBytesField(buf, o, 0x5a, e);
  return buf;
}

/**
 * The responses of a fan-out: the same events at the same revision for each of
 * `watchIds`, framed and back to back in one buffer, byte for byte what
 * encodeWatchResponse({ header, watchId }, events, true) gives for each id in
 * turn. Only the watch id differs between them, so the events are written
 * once and copied; one allocation for the lot instead of one per watcher.
 */
export function encodeSharedResponses(header: Buffer, watchIds: readonly bigint[], events: readonly Buffer[]): Buffer {
  const headerLen = fieldLen(header.length);
  let eventsLen = 0;
  for (const e of events) eventsLen += fieldLen(e.length);
  let total = 0;
  for (const id of watchIds) total += GRPC_PREFIX_BYTES + headerLen + (id !== 0n ? 1 + varintLen(id) : 0) + eventsLen;
  const buf = Buffer.allocUnsafe(total);
  let o = 0;
  let firstEvents = -1;
  for (const id of watchIds) {
    const size = headerLen + (id !== 0n ? 1 + varintLen(id) : 0) + eventsLen;
    buf[o] = 0;
    buf[o + 1] = size >>> 24;
    buf[o + 2] = (size >>> 16) & 0xff;
    buf[o + 3] = (size >>> 8) & 0xff;
    buf[o + 4] = size & 0xff;
    o = writeBytesField(buf, o + GRPC_PREFIX_BYTES, 0x0a, header);
    if (id !== 0n) { buf[o++] = 0x10; o = writeVarint(buf, o, id); }
    if (firstEvents < 0) {
      firstEvents = o;
      for (const e of events) o = writeBytesField(buf, o, 0x5a, e);
    } else {
      buf.copyWithin(o, firstEvents, firstEvents + eventsLen); // Buffer#copy would make a view per call
      o += eventsLen;
    }
  }
  return buf;
}

/**
 * etcd's sendFragments: a response at or above maxBytes with at least two
 * events is cut into several, each marked fragment=true but the last; every
 * fragment takes events while it stays below maxBytes, and at least one.
 */
export function encodeFragments(r: ResponseFields, events: readonly Buffer[], maxBytes: number, framed = false): Buffer[] {
  const whole = encodeWatchResponse(r, events, framed);
  const pre = framed ? GRPC_PREFIX_BYTES : 0;
  if (whole.length - pre < maxBytes || events.length < 2) return [whole];
  const base = { ...r, fragment: true };
  const baseLen = fixedLen(base, r.cancelReason ? Buffer.from(r.cancelReason) : undefined);
  const out: Buffer[] = [];
  let idx = 0;
  for (;;) {
    let size = baseLen;
    const start = idx;
    while (idx < events.length) {
      const add = fieldLen(events[idx]!.length);
      if (idx > start && size + add >= maxBytes) break;
      size += add;
      idx++;
    }
    const last = idx === events.length;
    out.push(encodeWatchResponse(last ? r : base, events.slice(start, idx), framed));
    if (last) return out;
  }
}
