// A gRPC call's stream on Node's HTTP/2 layer (node:http2): the GrpcStream
// interface over a ServerHttp2Stream. Node writes a response in two passes:
// the DATA from a native immediate, and the trailers only when it asks for
// them ('wantTrailers') after that write completed.

import * as http2 from 'node:http2';
import type { GrpcStream, HeaderFields, StreamSink } from './stream-port.js';
import { stage } from '../../util/stage-trace.js';

const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc' };
// No date header: gRPC has no use for it (grpc-go sends none), and it costs a
// header to encode on every response.
const RESPOND_KEEP_OPEN = { waitForTrailers: true, sendDate: false } as http2.ServerStreamResponseOptions;
const RESPOND_END = { endStream: true, sendDate: false } as http2.ServerStreamResponseOptions;
const { NGHTTP2_NO_ERROR } = http2.constants;

/** See releaseClientSide. */
const RELEASE_AFTER_MS = 1000;

/**
 * After the status: a client that keeps its side of the stream open is told
 * to stop with RST_STREAM NO_ERROR, as grpc-go does, so a bidi stream the
 * client never half-closes does not stay open. gRPC clients close their side
 * themselves when the status arrives; the reset waits a moment because
 * nghttp2 sends a RST_STREAM ahead of frames still queued, trailers included.
 */
function releaseClientSide(stream: http2.ServerHttp2Stream): void {
  if (stream.readableEnded || stream.closed) return;
  setTimeout(() => {
    if (!stream.closed) stream.close(NGHTTP2_NO_ERROR);
  }, RELEASE_AFTER_MS).unref();
}

const ADAPTER = Symbol('etcd-ts.grpc.node-stream');
type Tagged = http2.ServerHttp2Stream & { [ADAPTER]: NodeGrpcStream };

// Shared listeners find the adapter on the stream: no closures per call.
function onStreamData(this: Tagged, chunk: Buffer): void {
  this[ADAPTER].sink?.onData(chunk);
}
function onStreamEnd(this: Tagged): void {
  this[ADAPTER].sink?.onEnd();
}
function onStreamClose(this: Tagged): void {
  this[ADAPTER].sink?.onClose();
}
function onStreamDrain(this: Tagged): void {
  this[ADAPTER].sink?.onDrain();
}
function onWantTrailers(this: Tagged): void {
  this[ADAPTER].sendTrailers();
}

export class NodeGrpcStream implements GrpcStream {
  sink: StreamSink | undefined;
  private headersSent = false;
  private trailers: HeaderFields = {};

  constructor(private readonly stream: http2.ServerHttp2Stream) {
    (stream as Tagged)[ADAPTER] = this;
  }

  get gone(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  attach(sink: StreamSink): void {
    this.sink = sink;
    const s = this.stream;
    s.on('data', onStreamData);
    s.on('end', onStreamEnd);
    s.on('close', onStreamClose);
    s.on('drain', onStreamDrain);
  }

  sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond(RESPONSE_HEADERS, RESPOND_KEEP_OPEN);
    this.stream.once('wantTrailers', onWantTrailers);
  }

  write(data: Buffer): boolean {
    if (this.stream.destroyed) return true;
    this.sendHeaders();
    return this.stream.write(data);
  }

  /** Node asks for the trailers once the last DATA frame is queued. */
  sendTrailers(): void {
    stage('trailers');
    try {
      this.stream.sendTrailers(this.trailers);
      releaseClientSide(this.stream);
    } catch {
      // The stream went away meanwhile: nothing to tell.
    }
  }

  finish(trailers: HeaderFields, last?: Buffer): void {
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    if (!this.headersSent && last === undefined) {
      this.headersSent = true;
      s.respond({ ...RESPONSE_HEADERS, ...trailers }, RESPOND_END);
      releaseClientSide(s);
    } else {
      this.trailers = trailers;
      this.sendHeaders();
      if (last === undefined) s.end();
      else s.end(last);
    }
    // Whatever the client still sends until then is read and dropped.
    s.resume();
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  reset(code: number): void {
    if (!this.stream.destroyed) this.stream.close(code);
  }
}

