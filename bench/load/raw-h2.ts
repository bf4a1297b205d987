// The lightest transport (`--transport raw`): gRPC unary calls as HTTP/2 frames
// written by hand on a TCP socket, read with the frame reader and HPACK decoder
// of the server's own HTTP/2 layer (src/server/h2). Node's http2 client costs the
// generator ~95 µs of CPU per call (a profile of `--transport h2` at 256
// clients, 2026-12-06: its core and stream objects, nextTick and async hooks,
// GC), which on a 2-core machine is CPU taken from the servers being measured,
// and saturates the generator's one thread near 10,000 calls/s. Here a call is
// one buffer (HEADERS, indexed in HPACK's dynamic table as grpc-go's are:
// hpack-indexing.ts; then DATA with the message, cached per request object), the
// frames of a turn go out in one socket write, and only the trailers are
// decoded. Plain TCP only: TLS runs use h2.

import * as net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../src/server/api/services.js';
import {
  DEFAULT_INITIAL_WINDOW,
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  Flag,
  FRAME_HEADER_BYTES,
  FrameReader,
  FrameType,
  PREFACE,
  Setting,
  SETTINGS_ACK,
  pingFrame,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
  type FrameSink,
} from '../../src/server/h2/frame.js';
import { HeaderBlocks, type HeaderBlock } from '../../src/server/h2/header-blocks.js';
import { HpackIndexingEncoder, type HeaderFields } from './hpack-indexing.js';
import { grpcError, MessageFrames } from './grpc-frame.js';
import type { KvTransport, UnaryCallback, UnaryFn, UnaryMethod } from './pool.js';

/** What we let the server send before it must wait for our WINDOW_UPDATE, per stream and per connection. */
const RECEIVE_WINDOW = 16 << 20;
/** Connection-level receive credit is returned once this much has arrived. */
const WINDOW_RETURN_AT = 1 << 20;
const DEADLINE_SWEEP_MS = 20;
const MAX_STREAM_ID = 2 ** 31 - 1;

interface Pending {
  cb: UnaryCallback;
  /** Date.now() after which the call fails with DEADLINE_EXCEEDED (0: none). */
  deadline: number;
  status: number;
  details: string;
}

class RawConnection implements FrameSink {
  private readonly socket: net.Socket;
  private readonly reader = new FrameReader(DEFAULT_MAX_FRAME_SIZE, false);
  /** The server's HEADERS and CONTINUATIONs, joined and decoded (every block: HPACK's table is shared). */
  private readonly headerBlocks = new HeaderBlocks();
  private readonly encoder = new HpackIndexingEncoder();
  private readonly inflight = new Map<number, Pending>();
  private nextStreamId = 1;
  private out: Buffer[] = [];
  private flushQueued = false;
  /** Our send credit on the connection (RFC 7540 §6.9); calls wait in `blocked` while it is short. */
  private sendWindow = DEFAULT_INITIAL_WINDOW;
  private readonly blocked: { frames: Buffer; dataBytes: number }[] = [];
  private peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  private peerStreamWindow = DEFAULT_INITIAL_WINDOW;
  private unreturned = 0;
  private failure: string | undefined;
  private readonly settled: Promise<void>;
  /** Resolves `settled` at the server's first SETTINGS. */
  private onServerSettings: (() => void) | undefined;
  private readonly sweeper: NodeJS.Timeout;

  constructor(readonly endpoint: string) {
    const colon = endpoint.lastIndexOf(':');
    const host = endpoint.slice(0, colon).replace(/^\[|\]$/g, '');
    this.socket = net.connect({ host, port: Number(endpoint.slice(colon + 1)), noDelay: true });
    let settled!: () => void;
    let refused!: (e: Error) => void;
    this.settled = new Promise<void>((res, rej) => ((settled = res), (refused = rej)));
    this.settled.catch(() => {});
    this.socket.once('connect', () => {
      this.socket.write(
        Buffer.concat([
          PREFACE,
          settingsFrame([
            [Setting.ENABLE_PUSH, 0],
            [Setting.INITIAL_WINDOW_SIZE, RECEIVE_WINDOW],
          ]),
          windowUpdateFrame(0, RECEIVE_WINDOW - DEFAULT_INITIAL_WINDOW),
        ]),
      );
    });
    this.onServerSettings = settled;
    this.socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk, this);
      } catch (e) {
        this.fail(`protocol: ${(e as Error).message}`);
      }
    });
    this.socket.on('error', (e) => {
      refused(e);
      this.fail(e.message);
    });
    this.socket.on('close', () => {
      refused(new Error('connection closed'));
      this.fail('connection closed');
    });
    this.sweeper = setInterval(() => this.sweepDeadlines(), DEADLINE_SWEEP_MS);
    this.sweeper.unref();
  }

  ready(): Promise<void> {
    return this.settled;
  }

  /** One unary call: `fields` are the method's headers (the same array each time), `message` the gRPC-framed request. */
  call(fields: HeaderFields, message: Buffer, deadline: number, cb: UnaryCallback): void {
    if (this.failure !== undefined) {
      setImmediate(() => cb(grpcError(14, this.failure!)));
      return;
    }
    if (this.nextStreamId > MAX_STREAM_ID || message.length > this.peerStreamWindow) {
      setImmediate(() => cb(grpcError(14, 'stream ids exhausted or request larger than the stream window')));
      return;
    }
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    // Encoded now, in the order the blocks will reach the server (HPACK's table is shared).
    const head = this.encoder.encode(fields);
    this.inflight.set(id, { cb, deadline, status: -1, details: '' });
    // HEADERS, then the message in DATA frames of at most the server's frame size, the last one ending the stream.
    const dataFrames = Math.max(1, Math.ceil(message.length / this.peerMaxFrame));
    const frames = Buffer.allocUnsafe(FRAME_HEADER_BYTES + head.length + dataFrames * FRAME_HEADER_BYTES + message.length);
    writeFrameHeader(frames, 0, head.length, FrameType.HEADERS, Flag.END_HEADERS, id);
    head.copy(frames, FRAME_HEADER_BYTES);
    let at = FRAME_HEADER_BYTES + head.length;
    for (let off = 0, i = 0; i < dataFrames; i++) {
      const n = Math.min(this.peerMaxFrame, message.length - off);
      writeFrameHeader(frames, at, n, FrameType.DATA, i === dataFrames - 1 ? Flag.END_STREAM : 0, id);
      message.copy(frames, at + FRAME_HEADER_BYTES, off, off + n);
      at += FRAME_HEADER_BYTES + n;
      off += n;
    }
    // Streams must open in id order, so once one waits for credit, all after it do.
    if (this.blocked.length > 0 || message.length > this.sendWindow) this.blocked.push({ frames, dataBytes: message.length });
    else this.send(frames, message.length);
  }

  private send(frames: Buffer, dataBytes: number): void {
    this.sendWindow -= dataBytes;
    this.queue(frames);
  }

  private queue(frames: Buffer): void {
    this.out.push(frames);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // What the responses of one read turn issue leaves in one write.
    queueMicrotask(() => {
      this.flushQueued = false;
      const out = this.out;
      this.out = [];
      if (this.failure === undefined) this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    });
  }

  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    switch (type) {
      case FrameType.DATA: {
        // The body is not decoded: its bytes only count against the windows.
        this.unreturned += payload.length;
        if (this.unreturned >= WINDOW_RETURN_AT) {
          this.queue(windowUpdateFrame(0, this.unreturned));
          this.unreturned = 0;
        }
        if (flags & Flag.END_STREAM) this.complete(streamId);
        return;
      }
      // A malformed block throws H2Error, which the socket's data handler turns into fail().
      case FrameType.HEADERS:
        return this.onHeaderBlock(this.headerBlocks.headers(flags, streamId, payload));
      case FrameType.CONTINUATION:
        if (this.headerBlocks.awaitingContinuationOf !== streamId) return this.fail('CONTINUATION without HEADERS');
        return this.onHeaderBlock(this.headerBlocks.continuation(flags, payload));
      case FrameType.RST_STREAM: {
        const p = this.inflight.get(streamId);
        if (!p) return;
        this.inflight.delete(streamId);
        p.cb(grpcError(14, `stream reset by the server (code ${payload.readUInt32BE(0)})`));
        return;
      }
      case FrameType.SETTINGS: {
        if (flags & Flag.ACK) return;
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          const id = payload.readUInt16BE(i);
          const value = payload.readUInt32BE(i + 2);
          if (id === Setting.MAX_FRAME_SIZE) this.peerMaxFrame = value;
          else if (id === Setting.INITIAL_WINDOW_SIZE) this.peerStreamWindow = value;
        }
        this.queue(SETTINGS_ACK);
        this.onServerSettings?.();
        this.onServerSettings = undefined;
        return;
      }
      case FrameType.PING:
        if (!(flags & Flag.ACK)) this.queue(pingFrame(payload, true));
        return;
      case FrameType.WINDOW_UPDATE:
        if (streamId === 0) {
          this.sendWindow += payload.readUInt32BE(0) & MAX_STREAM_ID;
          while (this.blocked.length > 0 && this.blocked[0]!.dataBytes <= this.sendWindow) {
            const b = this.blocked.shift()!;
            this.send(b.frames, b.dataBytes);
          }
        }
        return;
      case FrameType.GOAWAY:
        this.fail(`GOAWAY from the server (code ${payload.length >= 8 ? payload.readUInt32BE(4) : ErrorCode.PROTOCOL_ERROR})`);
        return;
      default:
        return;
    }
  }

  /** Of a finished block, only grpc-status and grpc-message are kept. */
  private onHeaderBlock(block: HeaderBlock | undefined): void {
    if (block === undefined) return; // CONTINUATION to come
    const { streamId, endStream, fields } = block;
    const p = this.inflight.get(streamId);
    if (p) {
      for (const [name, value] of fields) {
        if (name === 'grpc-status') p.status = Number(value);
        else if (name === 'grpc-message') p.details = decodeURIComponent(value);
      }
    }
    if (endStream) this.complete(streamId);
  }

  private complete(streamId: number): void {
    const p = this.inflight.get(streamId);
    if (!p) return;
    this.inflight.delete(streamId);
    if (p.status === 0) p.cb(null);
    else if (p.status > 0) p.cb(grpcError(p.status, p.details));
    else p.cb(grpcError(13, 'stream ended without grpc-status'));
  }

  private sweepDeadlines(): void {
    if (this.inflight.size === 0) return;
    const now = Date.now();
    for (const [id, p] of this.inflight) {
      if (p.deadline === 0 || p.deadline > now) continue;
      this.inflight.delete(id);
      this.queue(rstStreamFrame(id, ErrorCode.CANCEL));
      p.cb(grpcError(4, 'context deadline exceeded'));
    }
  }

  private fail(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    clearInterval(this.sweeper);
    this.socket.destroy();
    const calls = [...this.inflight.values()];
    this.inflight.clear();
    this.blocked.length = 0;
    for (const p of calls) p.cb(grpcError(14, reason));
  }

  close(): void {
    clearInterval(this.sweeper);
    if (this.failure === undefined) {
      this.failure = 'closed';
      this.socket.end();
    }
  }
}

export class RawH2Pool implements KvTransport {
  private readonly conns: RawConnection[] = [];
  private readonly frames = new MessageFrames();
  private readonly tokens: (string | undefined)[] = [];
  readonly endpoints: string[] = [];

  constructor(endpoints: readonly string[], conns: number) {
    for (let i = 0; i < conns; i++) {
      const ep = endpoints[i % endpoints.length]!;
      this.endpoints.push(ep);
      this.conns.push(new RawConnection(ep));
    }
  }

  async ready(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`not connected after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([
        Promise.all(this.conns.map((c, i) => c.ready().catch((e: Error) => Promise.reject(new Error(`connection ${i} to ${c.endpoint}: ${e.message}`))))),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  setToken(conn: number, token: string): void {
    this.tokens[conn % this.conns.length] = token;
  }

  method(conn: number, method: UnaryMethod): UnaryFn {
    const def = apiServices().KV[method];
    if (!def) throw new Error(`KV.${method}: no such method`);
    const i = conn % this.conns.length;
    const c = this.conns[i]!;
    const serialize = def.requestSerialize as (v: unknown) => Buffer;
    const token = this.tokens[i];
    const fields: HeaderFields = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', def.path],
      [':authority', c.endpoint],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ...(token !== undefined ? ([['token', token]] as const) : []),
    ];
    return (req: unknown, options: grpc.CallOptions, cb: UnaryCallback) => {
      c.call(fields, this.frames.frame(serialize, req), options.deadline !== undefined ? Number(options.deadline) : 0, cb);
      return undefined as unknown as grpc.ClientUnaryCall;
    };
  }

  close(): void {
    for (const c of this.conns) c.close();
  }
}
