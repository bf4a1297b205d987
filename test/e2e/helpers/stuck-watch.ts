// A Watch stream on plain node:http2 whose reading can be stopped: while it is
// paused, nothing is consumed, HTTP/2 flow control stops the server's writes
// after the stream window, and the server has to deal with a client that never
// reads. Resumed, it decodes everything that arrived.

import * as http2 from 'node:http2';
import { messageCodec } from '../../../src/pb/index.js';
import type * as pb from '../../../src/pb/types.js';

const requestCodec = messageCodec<pb.WatchRequest>('etcdserverpb.WatchRequest');
const responseCodec = messageCodec<pb.WatchResponse>('etcdserverpb.WatchResponse');

export class StuckWatch {
  private readonly session: http2.ClientHttp2Session;
  private readonly stream: http2.ClientHttp2Stream;
  private buf = Buffer.alloc(0);
  readonly responses: pb.WatchResponse[] = [];
  /** Bytes received so far. */
  received = 0;

  /** `windowBytes`: the HTTP/2 stream window this client grants (small: the server is stopped sooner). */
  constructor(endpoint: string, windowBytes = 65_535) {
    this.session = http2.connect(`http://${endpoint}`, { settings: { initialWindowSize: windowBytes } });
    this.session.on('error', () => {});
    this.stream = this.session.request({
      ':method': 'POST',
      ':path': '/etcdserverpb.Watch/Watch',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    this.stream.on('error', () => {});
    this.stream.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 5) {
        const len = this.buf.readUInt32BE(1);
        if (this.buf.length < 5 + len) break;
        this.responses.push(responseCodec.decode(this.buf.subarray(5, 5 + len)));
        this.buf = this.buf.subarray(5 + len);
      }
    });
  }

  create(req: pb.Encodable<pb.WatchCreateRequest>): void {
    const msg = requestCodec.encode({ createRequest: req });
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    this.stream.write(frame);
  }

  /** Stop consuming: the server soon cannot send any more on this stream. */
  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  close(): void {
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
    this.session.close();
  }
}
