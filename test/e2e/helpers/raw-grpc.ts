// A raw gRPC client on node:http2 for probing the transport itself: it sends
// exactly the frames and headers a case asks for (split messages, compressed
// flags, odd grpc-timeouts, pings) and reports what came back — response
// headers, messages, trailers, RST_STREAM code, and any GOAWAY.

import * as http2 from 'node:http2';

export interface RawReply {
  headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader;
  /** Message payloads (prefix removed). */
  messages: Buffer[];
  /** Trailers, or the status fields of a trailers-only response (grpc-message decoded). */
  status: { code: number; message: string } | undefined;
  /** RST_STREAM code when the stream was reset. */
  rstCode: number;
}

export interface RawRequest {
  path: string;
  /** Framed or raw request bytes, each written as its own DATA chunk. */
  chunks?: Buffer[];
  /** Leave the request side open (streams). */
  keepOpen?: boolean;
  headers?: Record<string, string>;
}

/** grpc-message as a client decodes it: %XX sequences back to bytes, then UTF-8. Malformed escapes stay as they are. */
export function decodeGrpcMessage(encoded: string): string {
  if (!encoded.includes('%')) return encoded;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x25 && i + 2 < encoded.length && /^[0-9A-Fa-f]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function frame(payload: Buffer, flag = 0): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flag;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

export class RawGrpc {
  readonly session: http2.ClientHttp2Session;
  goaway: { code: number; data: string } | undefined;
  readonly goawayReceived: Promise<{ code: number; data: string }>;

  constructor(endpoint: string) {
    this.session = http2.connect(`http://${endpoint}`);
    this.session.on('error', () => {});
    this.goawayReceived = new Promise((resolve) => {
      this.session.on('goaway', (code, _last, data) => {
        this.goaway = { code, data: data?.toString() ?? '' };
        resolve(this.goaway);
      });
    });
  }

  /** Starts a call; `reply` settles when the stream closes. */
  open(req: RawRequest): { stream: http2.ClientHttp2Stream; reply: Promise<RawReply> } {
    const stream = this.session.request({
      ':method': 'POST',
      ':path': req.path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...req.headers,
    });
    const reply: Promise<RawReply> = new Promise((resolve) => {
      let headers = {} as RawReply['headers'];
      let status: RawReply['status'];
      const data: Buffer[] = [];
      const statusOf = (h: http2.IncomingHttpHeaders): RawReply['status'] =>
        h['grpc-status'] === undefined ? undefined : { code: Number(h['grpc-status']), message: decodeGrpcMessage(String(h['grpc-message'] ?? '')) };
      stream.on('response', (h) => {
        headers = h;
        status = statusOf(h);
      });
      stream.on('trailers', (t) => (status = statusOf(t)));
      stream.on('data', (c: Buffer) => data.push(c));
      stream.on('error', () => {});
      stream.on('close', () => {
        const all = Buffer.concat(data);
        const messages: Buffer[] = [];
        for (let pos = 0; pos + 5 <= all.length; ) {
          const len = all.readUInt32BE(pos + 1);
          messages.push(all.subarray(pos + 5, pos + 5 + len));
          pos += 5 + len;
        }
        resolve({ headers, messages, status, rstCode: stream.rstCode ?? 0 });
      });
    });
    for (const c of req.chunks ?? []) stream.write(c);
    if (!req.keepOpen) stream.end();
    return { stream, reply };
  }

  call(req: RawRequest): Promise<RawReply> {
    return this.open(req).reply;
  }

  readonly connected = (): Promise<void> =>
    new Promise((resolve) => (this.session.connecting ? this.session.once('connect', () => resolve()) : resolve()));

  /** Sends a PING once connected; resolves when acknowledged (or rejects when the session is gone). */
  async ping(): Promise<void> {
    await this.connected();
    return new Promise((resolve, reject) => {
      try {
        if (!this.session.ping((err) => (err ? reject(err) : resolve()))) reject(new Error('ping not sent'));
      } catch (e) {
        reject(e as Error);
      }
    });
  }

  close(): void {
    this.session.destroy();
  }
}
