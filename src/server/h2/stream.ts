// One HTTP/2 stream of our own server connection (connection.ts), as the
// GrpcStream a gRPC call runs on. It keeps the stream's half of flow control
// in both directions: what the client's window lets us send now goes out as
// DATA frames at once, the rest waits here until a WINDOW_UPDATE; what the
// client sends is credited back as it is handed to the call (not while the
// call has paused it, so a paused call holds the client back).
//
// A unary response (headers, the one message, the status) is built as one
// buffer: one socket write per response when the windows allow.

import type { GrpcStream, HeaderFields, StreamSink } from '../grpc/stream-port.js';
import { ErrorCode, Flag, FRAME_HEADER_BYTES, FrameType, rstStreamFrame, windowUpdateFrame, writeFrameHeader } from './frame.js';
import { encodeHeaderBlock } from './hpack-encoder.js';
import { stage } from '../../util/stage-trace.js';

/** Our SETTINGS_INITIAL_WINDOW_SIZE: what a client may send on a stream before we credit it. */
export const STREAM_RECEIVE_WINDOW = 1 << 20;
/** write() asks the call to wait (returns false) with this much unsent behind the windows (Node's stream highWaterMark). */
const HIGH_WATER_BYTES = 16 * 1024;
/** Small DATA payloads are copied next to their frame header (one buffer); larger ones are sent as views. */
const COPY_BELOW_BYTES = 16 * 1024;

const RESPONSE_HEADER_FIELDS: [string, string][] = [[':status', '200'], ['content-type', 'application/grpc']];
const RESPONSE_HEADERS_BLOCK = encodeHeaderBlock(RESPONSE_HEADER_FIELDS);
/** Encoded trailer blocks of the fixed trailer objects (the OK status): encoded once. */
const trailerBlocks = new WeakMap<HeaderFields, Buffer>();

function trailersBlock(trailers: HeaderFields): Buffer {
  let block = trailerBlocks.get(trailers);
  if (block === undefined) {
    block = encodeHeaderBlock(Object.entries(trailers));
    if (Object.isFrozen(trailers)) trailerBlocks.set(trailers, block);
  }
  return block;
}

/** What a stream needs from its connection. */
export interface StreamConnection {
  /** The client's SETTINGS_MAX_FRAME_SIZE. */
  readonly peerMaxFrameSize: number;
  /** The connection's send window (shared by all streams). */
  connectionWindow: number;
  /** Queues bytes for the socket (written together at the end of the tick). */
  queue(bytes: Buffer): void;
  /** A DATA frame is queued (keepalive: grpc-go forgives the client's next ping for each). */
  sentData(): void;
  /** The stream waits for window: resume it (pump) on the next WINDOW_UPDATE. */
  blocked(stream: H2Stream): void;
  /** The socket's buffer is full: true while writers should wait. */
  readonly congested: boolean;
  /** The stream wants onDrain once it may write again. */
  wantsDrain(stream: H2Stream): void;
  /** Both sides are closed or the stream was reset: forget it; the sink hears onClose after the flush. */
  streamClosed(stream: H2Stream, notifyNow: boolean): void;
}

export class H2Stream implements GrpcStream {
  sink: StreamSink | undefined;
  /** What we may still send on this stream (may go negative after a SETTINGS change). */
  sendWindow: number;
  /** What the client may still send on this stream. */
  receiveWindow = STREAM_RECEIVE_WINDOW;
  /** Bytes handed to the call and not yet credited back. */
  private uncredited = 0;
  remoteClosed = false;
  private localClosed = false;
  private closed = false;
  private headersSent = false;
  private paused = false;
  /** Chunks received while paused, and the half-close behind them. */
  private held: Buffer[] = [];
  private heldEnd = false;
  /** Response bytes the windows have not let out yet, then the trailers frame. */
  private pending: Buffer[] = [];
  pendingBytes = 0;
  private trailersFrame: Buffer | undefined;

  constructor(
    readonly id: number,
    private readonly conn: StreamConnection,
    initialSendWindow: number,
  ) {
    this.sendWindow = initialSendWindow;
  }

  get gone(): boolean {
    return this.closed || this.localClosed;
  }

  attach(sink: StreamSink): void {
    this.sink = sink;
  }

  // ---- requests (from the connection)

  /** A DATA frame's payload; frameLength (padding included) was taken from the receive window. */
  receive(data: Buffer, frameLength: number, endStream: boolean): void {
    if (this.paused) {
      if (data.length > 0) this.held.push(data);
      this.uncredited += frameLength;
      if (endStream) {
        this.heldEnd = true;
        this.remoteClosed = true;
      }
      return;
    }
    // Closed first: a call that answers from within onData then sees the client's side done (no release RST).
    if (endStream) this.remoteClosed = true;
    if (data.length > 0) this.sink?.onData(data);
    if (endStream) {
      this.sink?.onEnd();
      this.closeIfDone();
    } else {
      this.credit(frameLength);
    }
  }

  /** The client half-closed with its HEADERS (a request without DATA, or trailers). */
  receiveEnd(): void {
    this.receive(Buffer.alloc(0), 0, true);
  }

  private credit(n: number): void {
    this.uncredited += n;
    if (this.remoteClosed || this.closed || this.uncredited < STREAM_RECEIVE_WINDOW / 2) return;
    this.conn.queue(windowUpdateFrame(this.id, this.uncredited));
    this.receiveWindow += this.uncredited;
    this.uncredited = 0;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (let i = 0; i < held.length; i++) {
      if (this.paused) {
        this.held = held.slice(i).concat(this.held);
        return;
      }
      this.sink?.onData(held[i]!);
    }
    if (this.paused) return;
    if (this.heldEnd) {
      this.heldEnd = false;
      this.sink?.onEnd();
      this.closeIfDone();
      return;
    }
    const n = this.uncredited;
    this.uncredited = 0;
    this.credit(n);
  }

  // ---- responses

  sendHeaders(): void {
    if (this.headersSent || this.gone) return;
    this.headersSent = true;
    this.conn.queue(headersFrame(this.id, RESPONSE_HEADERS_BLOCK, false));
  }

  write(data: Buffer): boolean {
    if (this.gone) return true;
    this.sendHeaders();
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.pump();
    if (this.pendingBytes < HIGH_WATER_BYTES && !this.conn.congested) return true;
    this.conn.wantsDrain(this);
    return false;
  }

  /** True when write() would not ask the call to wait. */
  get writable(): boolean {
    return !this.gone && this.pendingBytes < HIGH_WATER_BYTES && !this.conn.congested;
  }

  finish(trailers: HeaderFields, last?: Buffer): void {
    if (this.gone) return;
    stage('trailers');
    const block = trailersBlock(trailers);
    if (!this.headersSent && last === undefined) {
      // Trailers-only: the status in the response headers.
      this.headersSent = true;
      this.localClosed = true;
      const full = encodeHeaderBlock([...RESPONSE_HEADER_FIELDS, ...Object.entries(trailers)]);
      this.conn.queue(this.withRelease(headersFrame(this.id, full, true)));
      this.afterLocalClose();
      return;
    }
    if (!this.headersSent && this.pending.length === 0 && last !== undefined && this.fitsWindows(last.length)) {
      // The usual unary response: headers, DATA and trailers in one buffer.
      this.headersSent = true;
      this.localClosed = true;
      this.conn.queue(this.withRelease(unaryResponse(this.id, last, block, this.conn.peerMaxFrameSize)));
      this.takeWindow(last.length);
      this.afterLocalClose();
      return;
    }
    this.sendHeaders();
    if (last !== undefined && last.length > 0) {
      this.pending.push(last);
      this.pendingBytes += last.length;
    }
    this.trailersFrame = headersFrame(this.id, block, true);
    this.localClosed = true;
    this.pump();
  }

  /**
   * grpc-go's rule: a client that has not half-closed when the status goes
   * out is told to stop sending (RST_STREAM NO_ERROR right behind the trailers).
   */
  private withRelease(frames: Buffer): Buffer {
    if (this.remoteClosed) return frames;
    return Buffer.concat([frames, rstStreamFrame(this.id, ErrorCode.NO_ERROR)]);
  }

  private fitsWindows(n: number): boolean {
    return n <= this.sendWindow && n <= this.conn.connectionWindow;
  }

  private takeWindow(n: number): void {
    this.sendWindow -= n;
    this.conn.connectionWindow -= n;
  }

  /** Sends what the windows allow; the trailers once everything before them is out. */
  pump(): void {
    if (this.closed) return;
    const maxFrame = this.conn.peerMaxFrameSize;
    while (this.pending.length > 0) {
      const room = Math.min(this.sendWindow, this.conn.connectionWindow, maxFrame);
      if (room <= 0) {
        this.conn.blocked(this);
        return;
      }
      const head = this.pending[0]!;
      const n = Math.min(room, head.length);
      const chunk = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
      this.pendingBytes -= n;
      this.takeWindow(n);
      queueData(this.conn, this.id, chunk);
      this.conn.sentData();
    }
    if (this.trailersFrame !== undefined) {
      const frame = this.trailersFrame;
      this.trailersFrame = undefined;
      this.conn.queue(this.withRelease(frame));
      this.afterLocalClose();
    }
  }

  private afterLocalClose(): void {
    if (this.remoteClosed) {
      this.closeIfDone();
      return;
    }
    // We sent RST_STREAM NO_ERROR behind the status: the stream is closed.
    this.markClosed(false);
  }

  private closeIfDone(): void {
    if (this.remoteClosed && this.localClosed && this.trailersFrame === undefined && this.pending.length === 0) this.markClosed(false);
  }

  // ---- the end

  /** RST_STREAM from us (the call's reset, or a stream error). */
  reset(code: number): void {
    if (this.closed) return;
    this.conn.queue(rstStreamFrame(this.id, code));
    this.markClosed(false);
  }

  /** RST_STREAM from the client, or the connection went: the call hears onClose now. */
  abort(): void {
    if (this.closed) return;
    this.markClosed(true);
  }

  private markClosed(notifyNow: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.localClosed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.trailersFrame = undefined;
    this.held = [];
    this.conn.streamClosed(this, notifyNow);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

function headersFrame(streamId: number, block: Buffer, endStream: boolean): Buffer {
  // A block larger than the client's frame size would need CONTINUATION; ours are a few dozen bytes.
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + block.length);
  writeFrameHeader(out, 0, block.length, FrameType.HEADERS, Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0), streamId);
  block.copy(out, FRAME_HEADER_BYTES);
  return out;
}

function queueData(conn: StreamConnection, streamId: number, chunk: Buffer): void {
  if (chunk.length < COPY_BELOW_BYTES) {
    const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + chunk.length);
    writeFrameHeader(out, 0, chunk.length, FrameType.DATA, 0, streamId);
    chunk.copy(out, FRAME_HEADER_BYTES);
    conn.queue(out);
    return;
  }
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(head, 0, chunk.length, FrameType.DATA, 0, streamId);
  conn.queue(head);
  conn.queue(chunk);
}

/** HEADERS, the message in as many DATA frames as the frame size asks, and the trailers: one buffer. */
function unaryResponse(streamId: number, message: Buffer, trailers: Buffer, maxFrame: number): Buffer {
  const dataFrames = Math.max(1, Math.ceil(message.length / maxFrame));
  const total = 2 * FRAME_HEADER_BYTES + RESPONSE_HEADERS_BLOCK.length + dataFrames * FRAME_HEADER_BYTES + message.length + trailers.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  writeFrameHeader(out, at, RESPONSE_HEADERS_BLOCK.length, FrameType.HEADERS, Flag.END_HEADERS, streamId);
  at += FRAME_HEADER_BYTES;
  at += RESPONSE_HEADERS_BLOCK.copy(out, at);
  let from = 0;
  do {
    const n = Math.min(maxFrame, message.length - from);
    writeFrameHeader(out, at, n, FrameType.DATA, 0, streamId);
    at += FRAME_HEADER_BYTES;
    at += message.copy(out, at, from, from + n);
    from += n;
  } while (from < message.length);
  writeFrameHeader(out, at, trailers.length, FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, streamId);
  at += FRAME_HEADER_BYTES;
  trailers.copy(out, at);
  return out;
}
