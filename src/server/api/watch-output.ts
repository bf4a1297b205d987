// Where a Watch stream's encoded responses go. grpc-js sends each message with
// a chain of stream callbacks and a copy (measured: the largest cost of watch
// fan-out, a few µs per response). A revision watched by a thousand watchers is
// a thousand responses, so when grpc-js's per-call HTTP/2 stream can be reached
// we write a whole batch of already framed gRPC messages to it in one write:
// the bytes on the wire are the same (5-byte length prefix per message, in
// order), HTTP/2 flow control still applies through the stream's own buffer and
// 'drain', and grpc-js still owns the headers, the trailers and the status.
// When the internals are not what we expect (another grpc-js version), every
// message goes through the public call.write() instead.

import type * as grpc from '@grpc/grpc-js';

export interface WatchOutput {
  /** Writes framed messages (each with its 5-byte gRPC prefix). False: stop until onceDrain. */
  write(framed: Buffer[]): boolean;
  onceDrain(fn: () => void): void;
  /** True when writing batches straight to the HTTP/2 stream. */
  readonly direct: boolean;
}

interface H2Stream {
  write(buf: Buffer): boolean;
  once(event: 'drain', fn: () => void): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  respond: unknown;
}

/** grpc-js 1.x: ServerDuplexStreamImpl.call is a BaseServerInterceptingCall holding the Http2ServerStream. */
interface GrpcCallInternals {
  call?: { stream?: Partial<H2Stream>; maybeSendMetadata?: () => void };
}

function reachStream(call: object): { h2: H2Stream; sendHeaders: () => void } | undefined {
  const base = (call as GrpcCallInternals).call;
  const h2 = base?.stream;
  if (!base || !h2 || typeof base.maybeSendMetadata !== 'function') return undefined;
  if (typeof h2.write !== 'function' || typeof h2.once !== 'function' || typeof h2.respond !== 'function') return undefined;
  return { h2: h2 as H2Stream, sendHeaders: () => base.maybeSendMetadata!() };
}

export function watchOutput(call: grpc.ServerDuplexStream<unknown, Buffer>, direct = true): WatchOutput {
  const reached = direct ? reachStream(call) : undefined;
  if (reached) {
    const { h2, sendHeaders } = reached;
    return {
      direct: true,
      write(framed) {
        // A stream already gone would turn the write into an 'error' event nobody handles.
        if (h2.destroyed || h2.writableEnded) return true;
        sendHeaders();
        return h2.write(framed.length === 1 ? framed[0]! : Buffer.concat(framed));
      },
      onceDrain(fn) {
        h2.once('drain', fn);
      },
    };
  }
  return {
    direct: false,
    write(framed) {
      let ok = true;
      // grpc-js frames each message itself.
      for (const f of framed) if (!call.write(f.subarray(5))) ok = false;
      return ok;
    },
    onceDrain(fn) {
      call.once('drain', fn);
    },
  };
}
