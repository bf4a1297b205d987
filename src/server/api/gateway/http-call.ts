// A gateway request seen as a gRPC call, so the gateway hands it to the very
// handler the gRPC server would (no second implementation of any RPC). The
// metadata is what grpc-gateway forwards: Authorization as "authorization"
// (which api/caller.ts reads as the auth token) and Grpc-Metadata-<Name>
// headers as <name>. Like etcd's gateway, which calls gRPC over its own
// connection, a call shows no client certificate. The call is cancelled when
// the HTTP client goes away first.

import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type { StatusError } from '../../grpc/status.js';
import type { RequestMetadata } from '../../grpc/types.js';
import type { StreamWriter } from './stream-writer.js';

const METADATA_PREFIX = 'grpc-metadata-';

class GatewayMetadata implements RequestMetadata {
  constructor(private readonly headers: http.IncomingHttpHeaders) {}

  get(key: string): string[] {
    const k = key.toLowerCase();
    const name = k === 'authorization' ? k : METADATA_PREFIX + k;
    const v = this.headers[name];
    if (v === undefined) return [];
    return Array.isArray(v) ? v : [v];
  }
}

/** What every gateway call offers (CallBase of grpc/types.ts). */
export class GatewayCall extends EventEmitter {
  request: unknown = undefined;
  cancelled = false;
  readonly metadata: RequestMetadata;

  constructor(
    protected readonly req: http.IncomingMessage,
    res: http.ServerResponse,
  ) {
    super();
    this.metadata = new GatewayMetadata(req.headers);
    res.once('close', () => {
      if (!res.writableFinished) {
        this.cancelled = true;
        this.emit('cancelled');
      }
      this.emit('close');
    });
  }

  getPeer(): string {
    return `${this.req.socket.remoteAddress ?? ''}:${this.req.socket.remotePort ?? 0}`;
  }

  getDeadline(): number {
    return Infinity;
  }

  connectionSocket(): object | undefined {
    return undefined;
  }
}

/** A server-streaming or bidi call: responses go through the stream writer as JSON. */
export class GatewayStreamCall extends GatewayCall {
  constructor(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    private readonly out: StreamWriter,
    /** A response object → its JSON. */
    private readonly toJson: (res: unknown) => string,
    /** Framed response messages → their JSON, one each. */
    private readonly framedToJson: (framed: Buffer) => string[],
  ) {
    super(req, res);
    res.on('drain', () => this.emit('drain'));
  }

  write(res: unknown): boolean {
    if (this.out.finished) return true;
    return this.out.message(this.toJson(res));
  }

  writeFramed(framed: Buffer): boolean {
    let ok = true;
    for (const json of this.framedToJson(framed)) ok = this.out.message(json) && ok;
    return ok;
  }

  end(): void {
    this.out.end();
  }

  fail(err: StatusError): void {
    if (err.code === 0) this.out.end();
    else this.out.fail(err.code, err.details);
  }

  // ---- requests of a bidi call: 'data' per request, 'end' when the client has no more

  private paused = false;
  private waiting: unknown[] = [];
  private endWaiting = false;

  /** One request; held while the handler has paused the call. */
  deliver(request: unknown): void {
    if (this.paused || this.waiting.length > 0) this.waiting.push(request);
    else this.emit('data', request);
  }

  /** No more requests (the body ended, or a request could not be read). */
  deliverEnd(): void {
    if (this.paused || this.waiting.length > 0) this.endWaiting = true;
    else this.emit('end');
  }

  pause(): void {
    this.paused = true;
    this.req.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    while (!this.paused && this.waiting.length > 0 && !this.out.finished) this.emit('data', this.waiting.shift());
    if (this.paused) return;
    if (this.endWaiting) {
      this.endWaiting = false;
      this.emit('end');
    }
    this.req.resume();
  }
}
