// One gRPC call on one HTTP/2 stream, for every kind of method: it reads and
// unframes the requests, starts the handler (unary and server-streaming once
// the request is in, client-streaming and bidi at once), and sends the
// response headers once, the framed responses, and the status in the
// trailers — or, when nothing was sent yet, in a trailers-only response.
//
// It ends exactly once: with a status the handler chose, or cancelled (the
// client reset the stream, the deadline passed, the connection went). Then
// 'cancelled' (if so) and 'close' are emitted, and anything the handler does
// afterwards is ignored.

import { EventEmitter } from 'node:events';
import { MAX_TIMER_MS } from './deadline.js';
import { MessageDecoder } from './framing.js';
import { Status, statusTrailers, type StatusError } from './status.js';
import type { GrpcStream, HeaderFields, RequestHeaders, StreamSink } from './stream-port.js';
import type { Handler, MethodDefinition, RequestMetadata, StreamHandler, UnaryCallback, UnaryHandler } from './types.js';
import { stage } from '../../util/stage-trace.js';

/** What a call needs from its connection. */
export interface CallConnection {
  /** "address:port" of the client. */
  readonly peer: string;
  /** The accepted socket (a TLS socket's verified identity is recorded on it). */
  readonly socket: object | undefined;
  /** Headers or data went out (keepalive: the client's next ping is not held against it). */
  sentData(): void;
  /** The call ended (however). */
  callEnded(call: ServerCall): void;
}

/** Frozen: our own HTTP/2 stream encodes it once (h2/stream.ts). */
const OK_TRAILERS: HeaderFields = Object.freeze({ 'grpc-status': '0' });

class HeaderMetadata implements RequestMetadata {
  constructor(private readonly headers: RequestHeaders) {}

  get(key: string): string[] {
    const v = this.headers[key.toLowerCase()];
    if (v === undefined) return [];
    return Array.isArray(v) ? v : [v];
  }
}

export class ServerCall extends EventEmitter implements StreamSink {
  request: unknown = undefined;
  cancelled = false;
  /** A streaming call (either side): shutdown does not wait for these. */
  readonly streaming: boolean;
  private started = false;
  /** The status is decided (sent, being sent, or the stream is gone). */
  private finished = false;
  private closed = false;
  private readonly decoder: MessageDecoder;
  private timer: NodeJS.Timeout | undefined;
  private meta: RequestMetadata | undefined;
  /**
   * Streaming requests: while the handler has paused the call, requests already
   * decoded (one DATA chunk can hold thousands) wait here, and so does the
   * client's half-close behind them.
   */
  private paused = false;
  private waiting: unknown[] = [];
  private endWaiting = false;
  private readonly answer: UnaryCallback<unknown> | undefined;

  constructor(
    private readonly stream: GrpcStream,
    private readonly headers: RequestHeaders,
    private readonly method: MethodDefinition,
    private readonly handler: Handler,
    private readonly conn: CallConnection,
    maxReceiveBytes: number,
    /** Epoch ms; Infinity: none. */
    private readonly deadline: number,
  ) {
    super();
    this.streaming = method.requestStream || method.responseStream;
    this.decoder = new MessageDecoder(maxReceiveBytes);
    if (!method.responseStream) this.answer = (err, res) => (err ? this.fail(err) : this.respondOnce(res));
    stream.attach(this);
    if (deadline !== Infinity) this.armDeadline();
    // Client-streaming and bidi handlers start now, to listen for the requests.
    if (method.requestStream) this.start();
  }

  /** The status is decided but the stream is not closed yet: the response is still going out. */
  get responding(): boolean {
    return this.finished && !this.closed;
  }

  get metadata(): RequestMetadata {
    return (this.meta ??= new HeaderMetadata(this.headers));
  }

  getPeer(): string {
    return this.conn.peer;
  }

  getDeadline(): number {
    return this.deadline;
  }

  connectionSocket(): object | undefined {
    return this.conn.socket;
  }

  // ---- requests

  onData(chunk: Buffer): void {
    if (this.finished) return;
    const err = this.decoder.push(chunk, this);
    if (err) this.fail(err);
  }

  /** One whole request message (the decoder's sink). */
  onMessage(bytes: Buffer): void {
    if (!this.method.requestStream) stage('rx');
    if (this.finished) return;
    let req: unknown;
    try {
      req = this.method.decodeRequest(bytes);
    } catch (e) {
      this.fail({ code: Status.INTERNAL, details: `grpc: error unmarshalling request: ${(e as Error).message}` });
      return;
    }
    if (this.method.requestStream) {
      if (this.paused || this.waiting.length > 0) this.waiting.push(req);
      else this.emit('data', req);
      return;
    }
    // Unary and server-streaming: the one request starts the handler; more are ignored.
    if (this.started) return;
    this.request = req;
    this.start();
  }

  onEnd(): void {
    if (this.finished) return;
    if (this.method.requestStream) {
      if (this.paused || this.waiting.length > 0) this.endWaiting = true;
      else this.emit('end');
      return;
    }
    // grpc-go's answer when the request ends before its message: io.EOF as an unknown error.
    if (!this.started) this.fail({ code: Status.UNKNOWN, details: 'EOF' });
  }

  private start(): void {
    this.started = true;
    try {
      if (this.answer) (this.handler as UnaryHandler)(this as never, this.answer);
      else (this.handler as StreamHandler)(this as never);
    } catch (e) {
      // A handler bug: the client gets a status instead of a hung call.
      this.fail({ code: Status.UNKNOWN, details: (e as Error).message ?? String(e) });
    }
  }

  /** Stops reading requests (HTTP/2 flow control then holds the client). */
  pause(): void {
    this.paused = true;
    this.stream.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // Deliver what waits, unless a handler pauses again meanwhile.
    let i = 0;
    while (!this.paused && i < this.waiting.length && !this.finished) this.emit('data', this.waiting[i++]);
    this.waiting = i === this.waiting.length ? [] : this.waiting.slice(i);
    if (this.paused) return;
    if (this.endWaiting && !this.finished) {
      this.endWaiting = false;
      this.emit('end');
    }
    this.stream.resume();
  }

  // ---- responses

  onDrain(): void {
    this.emit('drain');
  }

  /** Sends already framed messages; false: wait for 'drain'. */
  writeFramed(framed: Buffer): boolean {
    if (this.finished || this.stream.gone) return true;
    this.conn.sentData();
    return this.stream.write(framed);
  }

  write(res: unknown): boolean {
    if (this.finished) return true;
    const framed = this.encode(res);
    return framed ? this.writeFramed(framed) : true;
  }

  /** The response framed, or undefined when it cannot be encoded (the call then fails). */
  private encode(res: unknown): Buffer | undefined {
    try {
      return this.method.encodeResponse(res);
    } catch (e) {
      this.fail({ code: Status.INTERNAL, details: `grpc: error while marshaling: ${(e as Error).message}` });
      return undefined;
    }
  }

  /** Headers if not yet sent (grpc-js's sendMetadata; no custom metadata is sent). */
  sendMetadata(): void {
    if (!this.finished && !this.stream.gone) this.stream.sendHeaders();
  }

  /** Ends a streaming call with status OK. */
  end(): void {
    this.finish(OK_TRAILERS);
  }

  fail(err: StatusError): void {
    this.finish(err.code === Status.OK ? OK_TRAILERS : statusTrailers(err));
  }

  private respondOnce(res: unknown): void {
    if (this.finished) return;
    const framed = this.encode(res);
    if (framed) this.finish(OK_TRAILERS, framed);
  }

  private finish(trailers: HeaderFields, last?: Buffer): void {
    if (!this.streaming) stage('finish');
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    if (this.stream.gone) return;
    this.conn.sentData();
    // Whatever the client still sends until then is read and dropped.
    this.stream.finish(trailers, last);
  }

  // ---- the end

  private armDeadline(): void {
    const left = this.deadline - Date.now();
    this.timer = setTimeout(() => {
      if (this.deadline - Date.now() > 0) return this.armDeadline(); // past a timer's range
      if (this.finished) return;
      this.fail({ code: Status.DEADLINE_EXCEEDED, details: 'context deadline exceeded' });
      this.cancel();
    }, Math.max(0, Math.min(left, MAX_TIMER_MS)));
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled');
  }

  onClose(): void {
    if (!this.streaming) stage('close');
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    if (!this.finished) {
      this.finished = true;
      this.cancel();
    }
    this.conn.callEnded(this);
    this.emit('close');
  }
}
