// Our own HTTP/2 server connection (RFC 7540) for gRPC on the client port,
// instead of Node's: the preface, SETTINGS both ways, PING, GOAWAY both ways,
// flow control both ways, HEADERS + CONTINUATION, RST_STREAM both ways,
// --max-concurrent-streams, stream and connection errors. Streams are
// H2Stream (stream.ts); frames frame.ts; header blocks header-blocks.ts.
//
// Everything a tick produces (responses of many calls, WINDOW_UPDATEs, ACKs)
// is written to the socket once (write-batch.ts).

import type * as net from 'node:net';
import type { RequestHeaders } from '../grpc/stream-port.js';
import {
  DEFAULT_INITIAL_WINDOW,
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  Flag,
  FrameReader,
  FrameType,
  goawayFrame,
  H2Error,
  MAX_WINDOW,
  pingFrame,
  rstStreamFrame,
  Setting,
  SETTINGS_ACK,
  settingsFrame,
  windowUpdateFrame,
  type FrameSink,
} from './frame.js';
import { HeaderBlocks, type HeaderBlock } from './header-blocks.js';
import { ResetBudget } from './reset-budget.js';
import { toHeaderObject } from './request-headers.js';
import { H2Stream, STREAM_RECEIVE_WINDOW, type StreamConnection } from './stream.js';
import { WriteBatch } from './write-batch.js';

/** What the whole connection may receive before we credit it (we credit as it arrives). */
const CONNECTION_RECEIVE_WINDOW = 16 << 20;
/** Above this much unwritten in the socket, streams are asked to wait. */
const CONGESTED_BYTES = 1 << 20;
/** A destroyed connection's socket gets this long to flush a GOAWAY before it is cut. */
const END_GRACE_MS = 1000;
/** A client must have sent its preface and SETTINGS by then (as first-request.ts holds Node's connections). */
export const PREFACE_TIMEOUT_MS = 2000;

export interface H2ConnectionOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS (undefined: no limit). */
  maxConcurrentStreams?: number;
  /** See PREFACE_TIMEOUT_MS. */
  prefaceTimeoutMs?: number;
  /** Stream resets the client may cause (reset-budget.ts); a new default budget when absent. */
  resetBudget?: ResetBudget;
  /** A new stream with its request headers. */
  onStream(stream: H2Stream, headers: RequestHeaders): void;
  /** A PING from the client (its ACK is queued). */
  onPing(): void;
  /** A DATA frame went out (pumped by a WINDOW_UPDATE too, not only when a call wrote). */
  onDataSent(): void;
  /** The connection is gone (once). */
  onClose(): void;
}

export class H2Connection implements StreamConnection, FrameSink {
  readonly streams = new Map<number, H2Stream>();
  /** The highest stream id the client opened. */
  lastStreamId = 0;
  peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private peerInitialWindow = DEFAULT_INITIAL_WINDOW;
  connectionWindow = DEFAULT_INITIAL_WINDOW;
  private receiveWindow = CONNECTION_RECEIVE_WINDOW;
  private uncredited = 0;
  private readonly reader = new FrameReader();
  private readonly headerBlocks = new HeaderBlocks();
  private sawSettings = false;
  private prefaceTimer: NodeJS.Timeout | undefined;
  private readonly batch: WriteBatch;
  /** Streams closed since the last flush: their calls hear onClose once it is written. */
  private closedSinceFlush: H2Stream[] = [];
  private readonly blockedStreams = new Set<H2Stream>();
  private readonly drainWaiters = new Set<H2Stream>();
  private readonly pingCallbacks: ((err: Error | null) => void)[] = [];
  /** GOAWAY sent: no new streams above goawayLastStreamId. */
  private goawayLastStreamId = -1;
  /** close() was called: the socket ends when the last stream does. */
  private closing = false;
  destroyed = false;
  /** close() found no stream left: the socket ends after the next flush. */
  private endAfterFlush = false;
  private readonly resets: ResetBudget;

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: H2ConnectionOptions,
  ) {
    this.batch = new WriteBatch(socket, () => this.afterFlush());
    this.resets = opts.resetBudget ?? new ResetBudget();
    const settings: [number, number][] = [
      [Setting.INITIAL_WINDOW_SIZE, STREAM_RECEIVE_WINDOW],
      [Setting.ENABLE_PUSH, 0],
    ];
    if (opts.maxConcurrentStreams !== undefined && opts.maxConcurrentStreams < 2 ** 32 - 1) {
      settings.push([Setting.MAX_CONCURRENT_STREAMS, opts.maxConcurrentStreams]);
    }
    this.queue(settingsFrame(settings));
    this.queue(windowUpdateFrame(0, CONNECTION_RECEIVE_WINDOW - DEFAULT_INITIAL_WINDOW));
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('drain', () => this.onSocketDrain());
    socket.on('error', () => {}); // 'close' follows
    socket.once('close', () => this.teardown());
  }

  /** Starts reading: `initial` is what was read from the socket before (the preface, usually). */
  start(initial?: Buffer): void {
    this.prefaceTimer = setTimeout(() => {
      if (!this.sawSettings) this.socket.destroy(); // not an HTTP/2 client: nothing to tell it
    }, this.opts.prefaceTimeoutMs ?? PREFACE_TIMEOUT_MS);
    this.prefaceTimer.unref();
    if (initial !== undefined && initial.length > 0) this.onBytes(initial);
    this.socket.resume();
  }

  // ---- reading

  private onBytes(chunk: Buffer): void {
    if (this.destroyed) return;
    try {
      this.reader.push(chunk, this);
    } catch (e) {
      if (e instanceof H2Error) this.connectionError(e.code, e.message);
      else throw e;
    }
  }

  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.destroyed) return;
    if (!this.sawSettings) {
      if (type !== FrameType.SETTINGS || flags & Flag.ACK) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'the preface must be followed by SETTINGS');
      this.sawSettings = true;
      clearTimeout(this.prefaceTimer);
    }
    const continuing = this.headerBlocks.awaitingContinuationOf;
    if (continuing !== undefined && (type !== FrameType.CONTINUATION || streamId !== continuing)) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'a header block was interrupted');
    }
    try {
      switch (type) {
        case FrameType.DATA: return this.onData(flags, streamId, payload);
        case FrameType.HEADERS: return this.onHeaders(flags, streamId, payload);
        case FrameType.PRIORITY: return this.onPriority(streamId, payload);
        case FrameType.RST_STREAM: return this.onRstStream(streamId, payload);
        case FrameType.SETTINGS: return this.onSettings(flags, streamId, payload);
        case FrameType.PUSH_PROMISE: throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
        case FrameType.PING: return this.onPing(flags, streamId, payload);
        case FrameType.GOAWAY: return this.onGoaway(streamId);
        case FrameType.WINDOW_UPDATE: return this.onWindowUpdate(streamId, payload);
        case FrameType.CONTINUATION: return this.onHeaderBlock(this.headerBlocks.continuation(flags, payload));
        default: return; // unknown frame types are ignored (§4.1)
      }
    } catch (e) {
      if (!(e instanceof H2Error) || e.streamId === 0) throw e;
      // A stream error: that stream is reset, the connection goes on (while the client's resets last).
      this.spendReset();
      const stream = this.streams.get(e.streamId);
      if (stream) stream.reset(e.code);
      else this.queue(rstStreamFrame(e.streamId, e.code));
    }
  }

  /** Never opened by the client (above every id it used): frames on it are a connection error. */
  private isIdle(streamId: number): boolean {
    return streamId > this.lastStreamId;
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    const length = payload.length;
    if (length > this.receiveWindow) throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.receiveWindow -= length;
    this.creditConnection(length);
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (this.isIdle(streamId)) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'DATA on an idle stream');
      return; // a stream we closed or reset: what was in flight is dropped
    }
    if (stream.remoteClosed) throw new H2Error(ErrorCode.STREAM_CLOSED, 'DATA after END_STREAM', streamId);
    if (length > stream.receiveWindow) throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the stream window', streamId);
    stream.receiveWindow -= length;
    const data = FrameReader.unpad(payload, flags);
    stream.receive(data, length, (flags & Flag.END_STREAM) !== 0);
  }

  private creditConnection(n: number): void {
    this.uncredited += n;
    if (this.uncredited < CONNECTION_RECEIVE_WINDOW / 4) return;
    this.queue(windowUpdateFrame(0, this.uncredited));
    this.receiveWindow += this.uncredited;
    this.uncredited = 0;
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    this.onHeaderBlock(this.headerBlocks.headers(flags, streamId, payload));
  }

  private onHeaderBlock(block: HeaderBlock | undefined): void {
    if (block === undefined) return; // CONTINUATION to come
    const { streamId, endStream, fields } = block;
    const existing = this.streams.get(streamId);
    if (existing !== undefined) {
      // Trailers from the client: they must end its side.
      if (existing.remoteClosed) throw new H2Error(ErrorCode.STREAM_CLOSED, 'HEADERS after END_STREAM', streamId);
      if (!endStream) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'trailers without END_STREAM', streamId);
      existing.receiveEnd();
      return;
    }
    if (!this.isIdle(streamId)) throw new H2Error(ErrorCode.STREAM_CLOSED, 'HEADERS on a closed stream', streamId);
    if (streamId % 2 === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'a client opened an even stream id');
    this.lastStreamId = streamId;
    if (this.goawayLastStreamId >= 0 && streamId > this.goawayLastStreamId) {
      this.queue(rstStreamFrame(streamId, ErrorCode.REFUSED_STREAM));
      return;
    }
    const limit = this.opts.maxConcurrentStreams;
    if (limit !== undefined && this.streams.size >= limit) {
      this.spendReset(); // over the limit it was told: a reset the client caused
      this.queue(rstStreamFrame(streamId, ErrorCode.REFUSED_STREAM));
      return;
    }
    const headers = toHeaderObject(fields);
    if (headers === undefined) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'malformed request headers', streamId);
    const stream = new H2Stream(streamId, this, this.peerInitialWindow);
    this.streams.set(streamId, stream);
    this.opts.onStream(stream, headers);
    if (endStream && !stream.isClosed) stream.receiveEnd();
  }

  private onPriority(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
    if (payload.length !== 5) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY of the wrong size', streamId);
    // Ignored: gRPC has no use for priorities.
  }

  private onRstStream(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
    if (this.isIdle(streamId)) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
    this.spendReset();
    this.streams.get(streamId)?.abort();
  }

  /** A reset the client sent or caused; past its budget the connection ends with ENHANCE_YOUR_CALM. */
  private spendReset(): void {
    if (!this.resets.take()) throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, 'too many stream resets');
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (payload.length !== 0) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS of the wrong size');
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (id) {
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'ENABLE_PUSH must be 0 or 1');
          break;
        case Setting.INITIAL_WINDOW_SIZE:
          if (value > MAX_WINDOW) throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
          this.changeInitialWindow(value);
          break;
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > 2 ** 24 - 1) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'MAX_FRAME_SIZE out of range');
          this.peerMaxFrameSize = value;
          break;
        default:
          // HEADER_TABLE_SIZE: our encoder never uses the dynamic table. The rest: nothing for a server to do.
          break;
      }
    }
    this.queue(SETTINGS_ACK);
    this.pumpBlocked();
  }

  /** §6.9.2: a new initial window changes every open stream's window by the difference. */
  private changeInitialWindow(value: number): void {
    const delta = value - this.peerInitialWindow;
    this.peerInitialWindow = value;
    for (const stream of this.streams.values()) {
      stream.sendWindow += delta;
      if (stream.sendWindow > MAX_WINDOW) throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, 'a stream window overflowed');
      if (delta > 0 && stream.pendingBytes > 0) this.blockedStreams.add(stream);
    }
  }

  private onPing(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (payload.length !== 8) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, 'PING of the wrong size');
    if (flags & Flag.ACK) {
      this.pingCallbacks.shift()?.(null);
      return;
    }
    // As grpc-go: the ACK first, even for the ping that makes the policy send GOAWAY.
    this.queue(pingFrame(payload, true));
    this.opts.onPing();
  }

  private onGoaway(streamId: number): void {
    if (streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    // The client opens no more streams; those open may finish. It closes the connection itself.
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
    const increment = payload.readUInt32BE(0) & MAX_WINDOW;
    if (streamId === 0) {
      if (increment === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.connectionWindow += increment;
      if (this.connectionWindow > MAX_WINDOW) throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, 'the connection window overflowed');
      this.pumpBlocked();
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (this.isIdle(streamId)) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (increment === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0', streamId);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, 'a stream window overflowed', streamId);
    stream.pump();
    this.drainIfReady(stream);
  }

  // ---- writing (StreamConnection)

  queue(bytes: Buffer): void {
    if (!this.destroyed) this.batch.push(bytes);
  }

  sentData(): void {
    this.opts.onDataSent();
  }

  blocked(stream: H2Stream): void {
    this.blockedStreams.add(stream);
  }

  get congested(): boolean {
    return this.socket.writableLength > CONGESTED_BYTES;
  }

  wantsDrain(stream: H2Stream): void {
    this.drainWaiters.add(stream);
  }

  streamClosed(stream: H2Stream, notifyNow: boolean): void {
    this.streams.delete(stream.id);
    this.blockedStreams.delete(stream);
    this.drainWaiters.delete(stream);
    if (notifyNow) stream.sink?.onClose();
    else this.closedSinceFlush.push(stream);
    if (this.closing && this.streams.size === 0) this.queueEnd();
  }

  private pumpBlocked(): void {
    if (this.blockedStreams.size === 0) return;
    const streams = [...this.blockedStreams];
    this.blockedStreams.clear();
    for (const s of streams) {
      s.pump();
      this.drainIfReady(s);
    }
  }

  private drainIfReady(stream: H2Stream): void {
    if (this.drainWaiters.has(stream) && stream.writable) {
      this.drainWaiters.delete(stream);
      stream.sink?.onDrain();
    }
  }

  private onSocketDrain(): void {
    for (const s of [...this.drainWaiters]) this.drainIfReady(s);
  }

  private flush(): void {
    if (this.destroyed) this.afterFlush();
    else this.batch.flush();
  }

  /** The streams closed meanwhile hear onClose once their last bytes are handed to the socket. */
  private afterFlush(): void {
    if (this.closedSinceFlush.length > 0) {
      const closed = this.closedSinceFlush;
      this.closedSinceFlush = [];
      for (const s of closed) s.sink?.onClose();
    }
    if (this.endAfterFlush && !this.destroyed) this.endSocket();
  }

  private queueEnd(): void {
    this.endAfterFlush = true;
    if (!this.destroyed) this.batch.schedule();
  }

  // ---- the connection's life (the session interface of grpc/server.ts)

  /** A keepalive PING; cb hears its ACK, or an error when the connection goes first. */
  ping(cb: (err: Error | null) => void): boolean {
    if (this.destroyed) return false;
    this.pingCallbacks.push(cb);
    this.queue(pingFrame(Buffer.alloc(8), false));
    return true;
  }

  /** GOAWAY now: streams above lastStreamId are refused. */
  goaway(code: number, lastStreamId: number, debug?: Buffer): void {
    if (this.destroyed) return;
    this.goawayLastStreamId = lastStreamId;
    this.queue(goawayFrame(lastStreamId, code, debug));
    this.flush();
  }

  /** Graceful close: GOAWAY; the connection ends once its last stream has. */
  close(): void {
    if (this.destroyed || this.closing) return;
    this.closing = true;
    this.goaway(ErrorCode.NO_ERROR, this.lastStreamId);
    if (this.streams.size === 0) this.queueEnd();
  }

  /** Closes at once: every stream's call hears onClose; what is queued is still sent. */
  destroy(): void {
    if (this.destroyed) return;
    this.flush();
    this.endSocket();
  }

  private connectionError(code: number, message: string): void {
    if (this.destroyed) return;
    this.goaway(code, this.lastStreamId, Buffer.from(message));
    this.endSocket();
  }

  private endSocket(): void {
    this.teardown();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), END_GRACE_MS).unref();
  }

  private teardown(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    clearTimeout(this.prefaceTimer);
    this.batch.discard();
    this.headerBlocks.discard();
    for (const s of [...this.streams.values()]) s.abort();
    const closed = this.closedSinceFlush;
    this.closedSinceFlush = [];
    for (const s of closed) s.sink?.onClose();
    const err = new Error('connection closed');
    for (const cb of this.pingCallbacks.splice(0)) cb(err);
    this.opts.onClose();
  }
}
