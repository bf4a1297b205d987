// The message stream's framing (frames.ts) and its control frames
// (stream-protocol.ts): a byte stream cut anywhere decodes to the same payloads,
// views into the chunk where a frame lies in one, and an oversize frame stops the
// decoder before any of it is buffered.

import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/raft/codec.js';
import { EntryType, MessageType, type Message } from '../../src/raft/types.js';
import { encodeFrame, encodeFrames, FrameDecoder, FrameTooLargeError, frameSize } from '../../src/server/transport/frames.js';
import {
  closeFrame,
  decodeControlFrame,
  isRaftStreamRequest,
  KEEPALIVE_FRAME,
  refusalResponse,
  StreamStatus,
} from '../../src/server/transport/stream-protocol.js';

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

function decodeAll(chunks: Uint8Array[], max = 1 << 20): Uint8Array[] {
  const out: Uint8Array[] = [];
  const d = new FrameDecoder(max, (p) => void out.push(Uint8Array.from(p)));
  for (const c of chunks) d.push(c);
  expect(d.pendingBytes).toBe(0);
  return out;
}

/** `buf` cut at the given offsets. */
function cut(buf: Uint8Array, at: number[]): Uint8Array[] {
  const points = [0, ...at.filter((x) => x > 0 && x < buf.length).sort((a, b) => a - b), buf.length];
  return points.slice(1).map((end, i) => buf.subarray(points[i], end));
}

describe('frames', () => {
  const payloads = [bytes(0), bytes(1, 2), bytes(300, 3), bytes(5, 4), bytes(70_000, 5), bytes(0), bytes(3, 6)];
  const wire = encodeFrames(payloads);

  it('encodes each payload behind a 4-byte big-endian length', () => {
    expect(wire.length).toBe(payloads.reduce((s, p) => s + frameSize(p), 0));
    expect([...encodeFrame(Uint8Array.of(9, 8, 7))]).toEqual([0, 0, 0, 3, 9, 8, 7]);
    expect([...KEEPALIVE_FRAME]).toEqual([0, 0, 0, 0]);
    expect(encodeFrames([])).toHaveLength(0);
    expect([...encodeFrame(new Uint8Array(0x10304)).subarray(0, 4)]).toEqual([0, 1, 3, 4]);
  });

  it('decodes many frames from one chunk, as views into it', () => {
    const views: Uint8Array[] = [];
    const d = new FrameDecoder(1 << 20, (p) => void views.push(p));
    d.push(wire);
    expect(views.map((v) => v.length)).toEqual(payloads.map((p) => p.length));
    expect(views.every((v) => v.buffer === wire.buffer)).toBe(true); // no copy
    views.forEach((v, i) => expect(Buffer.from(v).equals(payloads[i]!)).toBe(true));
  });

  it('decodes the same payloads whatever the chunks: byte by byte, inside headers, across frames', () => {
    const expected = payloads.map((p) => [...p]);
    expect(decodeAll(cut(wire, [1, 2, 3, 5, 9, 200, 70_000, 70_310])).map((p) => [...p])).toEqual(expected);
    const bytewise: Uint8Array[] = [...wire.subarray(0, 400)].map((b) => Uint8Array.of(b));
    expect(decodeAll([...bytewise, wire.subarray(400)]).map((p) => [...p])).toEqual(expected);
    // Random cuts, many times over.
    let seed = 42;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let round = 0; round < 200; round++) {
      const at = Array.from({ length: 1 + rand(12) }, () => rand(wire.length));
      expect(decodeAll(cut(wire, at)).map((p) => p.length)).toEqual(payloads.map((p) => p.length));
    }
    const last = decodeAll(cut(wire, [10, 20, 30, 40, 50]));
    expect([...last[4]!]).toEqual([...payloads[4]!]);
  });

  it('holds an unfinished frame until its last byte arrives', () => {
    const out: Uint8Array[] = [];
    const d = new FrameDecoder(1 << 20, (p) => void out.push(p));
    const f = encodeFrame(bytes(10));
    d.push(f.subarray(0, 2));
    expect(d.pendingBytes).toBe(2);
    d.push(f.subarray(2, 9));
    expect(d.pendingBytes).toBe(9);
    expect(out).toEqual([]);
    d.push(f.subarray(9));
    expect(out.map((p) => [...p])).toEqual([[...bytes(10)]]);
    expect(d.pendingBytes).toBe(0);
  });

  it('refuses a frame over the bound before buffering it, and stops', () => {
    const out: number[] = [];
    const d = new FrameDecoder(1000, (p) => void out.push(p.length));
    const wire2 = encodeFrames([bytes(1000), bytes(1001), bytes(1)]);
    let err: unknown;
    try {
      d.push(wire2.subarray(0, 1006)); // the first frame, and 2 bytes of the next header
      d.push(wire2.subarray(1006, 1010));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect(err).toMatchObject({ size: 1001, limit: 1000, message: 'frame of 1001 bytes is larger than the limit of 1000' });
    expect(out).toEqual([1000]);
    expect(d.done).toBe(true);
    expect(d.pendingBytes).toBe(0);
    d.push(wire2.subarray(1010)); // ignored from now on
    expect(out).toEqual([1000]);
  });

  it('treats garbage as a length: a huge one is refused, never allocated', () => {
    const d = new FrameDecoder(64 * 1024 * 1024, () => {});
    expect(() => d.push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(FrameTooLargeError); // "GET " = 0x47455420
    const d2 = new FrameDecoder(64 * 1024 * 1024, () => {});
    expect(() => d2.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2))).toThrow(/4294967295 bytes is larger/);
  });

  it('stops when the consumer says so, ignoring the rest of the chunk', () => {
    const seen: number[] = [];
    const d = new FrameDecoder(1 << 20, (p) => {
      seen.push(p.length);
      return p.length !== 1;
    });
    d.push(wire);
    expect(seen).toEqual([0, 1]);
    expect(d.done).toBe(true);
  });

  it('carries encoded Raft messages intact', () => {
    const msgs: Message[] = [0, 1, 2].map((i) => ({
      type: MessageType.MsgApp,
      to: 0xfedcba9876543210n,
      from: 1n,
      term: 3,
      logTerm: 2,
      index: 10 + i,
      entries: [{ term: 3, index: 11 + i, type: EntryType.Normal, data: bytes(200 * i + 1, i), encoded: undefined }],
      commit: 9,
      reject: false,
      rejectHint: 0,
    }));
    const wire3 = encodeFrames(msgs.map(encodeMessage));
    // (copied into plain Uint8Arrays so that decoded fields compare equal to the originals)
    expect(decodeAll(cut(wire3, [3, 100, 250])).map(decodeMessage)).toEqual(msgs);
  });
});

describe('stream control frames and handshake', () => {
  it('a close frame carries a status and a reason; an empty frame is a pong', () => {
    const out: Uint8Array[] = [];
    const d = new FrameDecoder(1 << 16, (p) => void out.push(p));
    d.push(Buffer.concat([KEEPALIVE_FRAME, closeFrame(StreamStatus.Gone, 'member 5 was removed from the cluster')]));
    expect(out.map(decodeControlFrame)).toEqual([
      { kind: 'pong' },
      { kind: 'close', status: 410, details: 'member 5 was removed from the cluster' },
    ]);
    expect(decodeControlFrame(Uint8Array.of(7))).toEqual({ kind: 'close', status: 400, details: 'malformed close frame' });
  });

  it('recognises only the stream path and protocol', () => {
    expect(isRaftStreamRequest('/etcdts/raft/stream', 'etcdts-raft-stream/1')).toBe(true);
    expect(isRaftStreamRequest('/etcdts/raft/stream?x=1', 'ETCDTS-RAFT-STREAM/1')).toBe(true);
    expect(isRaftStreamRequest('/etcdts/raft/stream', 'websocket')).toBe(false);
    expect(isRaftStreamRequest('/raft', 'etcdts-raft-stream/1')).toBe(false);
    expect(isRaftStreamRequest(undefined, undefined)).toBe(false);
  });

  it('a refusal is a complete HTTP/1.1 answer with our ids', () => {
    expect(refusalResponse(412, 'cluster ID mismatch: local b, remote a', 2n, 0xbn)).toBe(
      'HTTP/1.1 412 Precondition Failed\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n' +
        'etcdts-from: 2\r\netcdts-cluster-id: b\r\nContent-Length: 39\r\nConnection: close\r\n\r\n' +
        'cluster ID mismatch: local b, remote a\n',
    );
  });
});
