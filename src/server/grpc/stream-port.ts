// What a gRPC call needs from the HTTP/2 stream it runs on: a narrow interface
// with two implementations, our own lean HTTP/2 (src/server/h2/stream.ts, the
// default) and Node's (node-stream.ts). The call (call.ts) never sees which.

/** Response header and trailer fields (lowercase names). */
export type HeaderFields = Readonly<Record<string, string>>;

/** Request headers as Node's HTTP/2 layer gives them (a repeated field is an array). */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Where a stream's events go (the call: an object, so no closure per call). */
export interface StreamSink {
  /** A chunk of the request's DATA. */
  onData(chunk: Buffer): void;
  /** The client half-closed its side. */
  onEnd(): void;
  /** The stream is gone, however (ended both ways, reset, connection lost). Once. */
  onClose(): void;
  /** Writes may go on after write() returned false. */
  onDrain(): void;
}

export interface GrpcStream {
  /** True once the stream is closed or reset: writes are dropped. */
  readonly gone: boolean;
  /** Starts delivering events to the sink. */
  attach(sink: StreamSink): void;
  /** ":status: 200, content-type: application/grpc" (once, before any write). */
  sendHeaders(): void;
  /** One or more framed messages; false: wait for onDrain. */
  write(data: Buffer): boolean;
  /**
   * The end of the response: `last` (if any) then the trailers. Sends the
   * headers first if they were not sent (with a message: the usual response;
   * without: a trailers-only response, headers and status in one block).
   */
  finish(trailers: HeaderFields, last?: Buffer): void;
  /** Stops reading requests: HTTP/2 flow control holds the client back. */
  pause(): void;
  resume(): void;
  /** Resets the stream (RST_STREAM with this HTTP/2 error code). */
  reset(code: number): void;
}
