// The response side of a streaming call on the gateway, as grpc-gateway's
// ForwardResponseStream writes it: a chunked 200 response, sent with the first
// message, each message as {"result":{...}} and a newline; a failure ends the
// stream with an {"error":{...}} object (and its HTTP status when nothing was
// sent yet).

import type * as http from 'node:http';
import { errorBody, httpStatusOf, streamErrorChunk } from './errors.js';

export const JSON_HEADERS = { 'Content-Type': 'application/json', 'Grpc-Metadata-Content-Type': 'application/grpc' };

export class StreamWriter {
  private headersSent = false;
  private ended = false;

  constructor(private readonly res: http.ServerResponse) {}

  get finished(): boolean {
    return this.ended || this.res.destroyed;
  }

  private start(status: number): void {
    this.headersSent = true;
    this.res.writeHead(status, JSON_HEADERS);
  }

  /** One message (its JSON); false: the socket's buffer is full, wait for 'drain'. */
  message(json: string): boolean {
    if (this.finished) return true;
    if (!this.headersSent) this.start(200);
    return this.res.write(`{"result":${json}}\n`);
  }

  /** The stream ended with status OK. */
  end(): void {
    if (this.finished) return;
    this.ended = true;
    if (!this.headersSent) this.start(200);
    this.res.end();
  }

  fail(code: number, message: string): void {
    if (this.finished) return;
    this.ended = true;
    if (!this.headersSent) {
      this.headersSent = true;
      this.res.writeHead(httpStatusOf(code), { 'Content-Type': 'application/json' });
    }
    this.res.end(streamErrorChunk(code, message));
  }
}

/** A unary answer: the response's JSON with 200, or grpc-gateway's error body. */
export function writeUnary(res: http.ServerResponse, json: string): void {
  res.writeHead(200, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

/**
 * An error answer. `fromCall`: the error came back from the RPC (grpc-gateway
 * then announces the gRPC trailers as an HTTP trailer); otherwise it is the
 * gateway's own (a request it could not read).
 */
export function writeError(res: http.ServerResponse, code: number, message: string, fromCall: boolean): void {
  const body = errorBody(code, message);
  if (fromCall) {
    res.writeHead(httpStatusOf(code), { 'Content-Type': 'application/json', Trailer: 'Grpc-Trailer-Content-Type' });
    res.write(body);
    res.addTrailers({ 'Grpc-Trailer-Content-Type': 'application/grpc' });
    res.end();
    return;
  }
  res.writeHead(httpStatusOf(code), { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
