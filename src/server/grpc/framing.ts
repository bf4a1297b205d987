// gRPC's message framing on an HTTP/2 stream: each message is a 1-byte
// compressed flag, a 4-byte big-endian length and the message bytes. DATA
// frames cut messages anywhere (a message may span frames, a frame may hold
// several), so the decoder keeps what it has of an incomplete one.
//
// Errors carry grpc-go's texts (what etcd's clients see from etcd): size is
// checked first, as soon as the length is known, so an oversize message is
// refused without being buffered.

import { Status, type StatusError } from './status.js';

export const PREFIX_BYTES = 5;
const EMPTY = Buffer.alloc(0);

/** The message behind its 5-byte prefix (uncompressed), in one new buffer. */
export function frameMessage(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, PREFIX_BYTES);
  return out;
}

function checkHeader(flag: number, length: number, maxBytes: number): StatusError | undefined {
  if (length > maxBytes) {
    return { code: Status.RESOURCE_EXHAUSTED, details: `grpc: received message larger than max (${length} vs. ${maxBytes})` };
  }
  if (flag === 1) {
    // We announce and accept no compression: a compressed message can only be
    // under "identity" (or no grpc-encoding), which grpc-go refuses thus.
    return { code: Status.INTERNAL, details: 'grpc: compressed flag set with identity or empty encoding' };
  }
  if (flag !== 0) return { code: Status.INTERNAL, details: `grpc: received unexpected payload format ${flag}` };
  return undefined;
}

/** Where whole messages go (an object, so a call passes itself: no closure per call). */
export interface MessageSink {
  onMessage(msg: Buffer): void;
}

export class MessageDecoder {
  /** A prefix cut by a DATA frame boundary is gathered here (allocated the first time). */
  private prefix: Buffer | undefined;
  /** Bytes of the current message's prefix seen so far (0–5). */
  private prefixHave = 0;
  /** Body of the current message once its prefix is complete. */
  private body: Buffer | undefined;
  private bodyHave = 0;
  private failed: StatusError | undefined;

  constructor(private readonly maxBytes: number) {}

  /**
   * Feeds one DATA chunk; every complete message goes to sink.onMessage (a view of
   * the chunk when it lies in one, else a copy). Returns the error to end the
   * call with, once; after that every chunk is ignored.
   */
  push(chunk: Buffer, sink: MessageSink): StatusError | undefined {
    if (this.failed) return undefined;
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.body !== undefined) {
        const take = Math.min(this.body.length - this.bodyHave, n - pos);
        chunk.copy(this.body, this.bodyHave, pos, pos + take);
        this.bodyHave += take;
        pos += take;
        if (this.bodyHave === this.body.length) {
          const msg = this.body;
          this.body = undefined;
          sink.onMessage(msg);
        }
        continue;
      }
      if (this.prefixHave === 0 && n - pos >= PREFIX_BYTES) {
        // Fast path: the whole prefix is in this chunk.
        const length = chunk.readUInt32BE(pos + 1);
        const err = checkHeader(chunk[pos]!, length, this.maxBytes);
        if (err) return (this.failed = err);
        pos += PREFIX_BYTES;
        if (n - pos >= length) {
          sink.onMessage(length === 0 ? EMPTY : chunk.subarray(pos, pos + length));
          pos += length;
        } else {
          this.startBody(length);
        }
        continue;
      }
      const take = Math.min(PREFIX_BYTES - this.prefixHave, n - pos);
      this.prefix ??= Buffer.alloc(PREFIX_BYTES);
      chunk.copy(this.prefix, this.prefixHave, pos, pos + take);
      this.prefixHave += take;
      pos += take;
      if (this.prefixHave < PREFIX_BYTES) continue;
      this.prefixHave = 0;
      const length = this.prefix.readUInt32BE(1);
      const err = checkHeader(this.prefix[0]!, length, this.maxBytes);
      if (err) return (this.failed = err);
      if (length === 0) sink.onMessage(EMPTY);
      else this.startBody(length);
    }
    return undefined;
  }

  private startBody(length: number): void {
    this.body = Buffer.allocUnsafe(length);
    this.bodyHave = 0;
  }

  /** True between messages (nothing of an incomplete one held). */
  get idle(): boolean {
    return this.body === undefined && this.prefixHave === 0;
  }
}
