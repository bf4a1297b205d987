// The Raft message stream between members, on the peer port, over plain HTTP/1.1
// (as etcd's rafthttp streams over HTTP/1.1, though the bytes are ours):
//
//   sender:   GET /etcdts/raft/stream HTTP/1.1
//             Connection: Upgrade, Upgrade: etcdts-raft-stream/1,
//             etcdts-from / etcdts-to / etcdts-cluster-id: the ids, in hex
//   receiver: 101 Switching Protocols, with its own etcdts-from / etcdts-cluster-id
//             (or a refusal: 400 no ids, 412 another cluster or member, 410 the
//             sender was removed; the reason in a text body, our ids in headers)
//
// After the 101 the socket carries only length-prefixed frames (frames.ts):
//   sender → receiver: an encoded raftpb.Message per frame, many frames per write;
//                      an empty frame is a keepalive ping;
//   receiver → sender: an empty frame answers a ping (pong); a CLOSE frame
//                      (2-byte status, as above, or 413 for a message over the
//                      bound, 400 for one that does not decode, then the reason
//                      in UTF-8) says why the receiver is closing the stream.
//
// Pure: the bytes and their meaning; the sockets are in stream-dial.ts (sender)
// and stream-inbound.ts (receiver).

import type { Refusal } from './admission.js';
import { encodeFrame } from './frames.js';
import { hex, MD_CLUSTER_ID, MD_FROM, MD_TO } from './service.js';

export const RAFT_STREAM_PATH = '/etcdts/raft/stream';
/** The Upgrade token: a different framing would be a different token. */
export const RAFT_STREAM_PROTOCOL = 'etcdts-raft-stream/1';

/** Largest frame the receiver sends back (a CLOSE with its reason). */
export const MAX_CONTROL_FRAME_BYTES = 64 * 1024;

/** HTTP statuses of a refusal, in the handshake answer and in a CLOSE frame. */
export const StreamStatus = {
  BadRequest: 400,
  NotFound: 404,
  Gone: 410,
  PreconditionFailed: 412,
  PayloadTooLarge: 413,
} as const;

const REASON_PHRASES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
};

export function refusalStatus(r: Refusal): number {
  switch (r) {
    case 'invalid':
      return StreamStatus.BadRequest;
    case 'precondition':
      return StreamStatus.PreconditionFailed;
    case 'removed':
      return StreamStatus.Gone;
  }
}

/** The sender's handshake headers. */
export function handshakeHeaders(from: bigint, clusterId: bigint, to: bigint): Record<string, string> {
  return {
    Connection: 'Upgrade',
    Upgrade: RAFT_STREAM_PROTOCOL,
    [MD_FROM]: hex(from),
    [MD_TO]: hex(to),
    [MD_CLUSTER_ID]: hex(clusterId),
  };
}

/** Whether an upgrade request asks for the Raft message stream. */
export function isRaftStreamRequest(path: string | undefined, upgrade: string | undefined): boolean {
  return (path ?? '').split('?')[0] === RAFT_STREAM_PATH && (upgrade ?? '').toLowerCase() === RAFT_STREAM_PROTOCOL;
}

function idHeaders(localId: bigint, clusterId: bigint): string {
  return `${MD_FROM}: ${hex(localId)}\r\n${MD_CLUSTER_ID}: ${hex(clusterId)}\r\n`;
}

/** The receiver's 101 answer, raw (the socket is ours once the request is read). */
export function acceptResponse(localId: bigint, clusterId: bigint): string {
  return (
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Connection: Upgrade\r\n' +
    `Upgrade: ${RAFT_STREAM_PROTOCOL}\r\n` +
    idHeaders(localId, clusterId) +
    '\r\n'
  );
}

/** A refusal, raw: status, our ids, the reason as a text body; the connection closes after it. */
export function refusalResponse(status: number, details: string, localId: bigint, clusterId: bigint): string {
  const body = details + '\n';
  return (
    `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? 'Error'}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    'X-Content-Type-Options: nosniff\r\n' +
    idHeaders(localId, clusterId) +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n' +
    '\r\n' +
    body
  );
}

/** An empty frame: a ping on the way in, its pong on the way out. */
export const KEEPALIVE_FRAME: Buffer = encodeFrame(new Uint8Array(0));

/** The receiver's last word: why it closes the stream. */
export function closeFrame(status: number, details: string): Buffer {
  const text = Buffer.from(details, 'utf8').subarray(0, MAX_CONTROL_FRAME_BYTES - 2);
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(status, 0);
  text.copy(payload, 2);
  return encodeFrame(payload);
}

/** What a frame from the receiver means. */
export type ControlFrame = { readonly kind: 'pong' } | { readonly kind: 'close'; readonly status: number; readonly details: string };

export function decodeControlFrame(payload: Uint8Array): ControlFrame {
  if (payload.length === 0) return { kind: 'pong' };
  if (payload.length < 2) return { kind: 'close', status: StreamStatus.BadRequest, details: 'malformed close frame' };
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return { kind: 'close', status: b.readUInt16BE(0), details: b.toString('utf8', 2) };
}
