// Length-prefixed frames, the only framing on a Raft message stream once its
// HTTP/1.1 handshake is done (stream-protocol.ts): a 4-byte big-endian payload
// length, then the payload. Many frames go out in one write; the decoder takes
// socket chunks as they come (a frame split over chunks, many frames in one
// chunk) and hands out each payload as a view into the chunk when it lies in
// one, copying only frames that straddle chunks.

/** Bytes before each payload. */
export const FRAME_HEADER_BYTES = 4;

/** Bytes one payload takes on the wire. */
export function frameSize(payload: Uint8Array): number {
  return FRAME_HEADER_BYTES + payload.length;
}

/** The payloads as consecutive frames in one buffer (one socket write). */
export function encodeFrames(payloads: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const p of payloads) size += frameSize(p);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const p of payloads) {
    out.writeUInt32BE(p.length, pos);
    out.set(p, pos + FRAME_HEADER_BYTES);
    pos += frameSize(p);
  }
  return out;
}

/** One frame, on its own. */
export function encodeFrame(payload: Uint8Array): Buffer {
  return encodeFrames([payload]);
}

/** A frame announced a payload larger than the decoder's bound. */
export class FrameTooLargeError extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`frame of ${size} bytes is larger than the limit of ${limit}`);
  }
}

/**
 * Turns a byte stream back into payloads. onFrame returns false to stop: the
 * rest of the chunk, and every later one, is ignored (the connection is being
 * closed). A frame over maxFrameBytes stops the decoder too, before any of its
 * payload is buffered.
 */
export class FrameDecoder {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** The frame being reassembled across chunks, and how much of it has arrived. */
  private partial: Uint8Array | undefined;
  private partialFill = 0;
  private stopped = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onFrame: (payload: Uint8Array) => boolean | void,
  ) {}

  /** Bytes held for an unfinished frame (header included). */
  get pendingBytes(): number {
    return this.partial !== undefined ? FRAME_HEADER_BYTES + this.partialFill : this.headerFill;
  }

  get done(): boolean {
    return this.stopped;
  }

  /** Feeds one chunk; throws FrameTooLargeError (after stopping) on an oversize frame. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end && !this.stopped) {
      if (this.partial !== undefined) {
        pos = this.fillPartial(chunk, pos);
        continue;
      }
      if (this.headerFill > 0 || end - pos < FRAME_HEADER_BYTES) {
        pos = this.fillHeader(chunk, pos);
        continue;
      }
      // The common case: the header, and often the whole payload, in this chunk.
      const size = readUint32(chunk, pos);
      this.checkSize(size);
      const start = pos + FRAME_HEADER_BYTES;
      if (end - start >= size) {
        pos = start + size;
        this.emit(chunk.subarray(start, pos));
      } else {
        this.startPartial(size);
        pos = start;
      }
    }
  }

  private fillHeader(chunk: Uint8Array, pos: number): number {
    const n = Math.min(FRAME_HEADER_BYTES - this.headerFill, chunk.length - pos);
    this.header.set(chunk.subarray(pos, pos + n), this.headerFill);
    this.headerFill += n;
    if (this.headerFill === FRAME_HEADER_BYTES) {
      this.headerFill = 0;
      const size = readUint32(this.header, 0);
      this.checkSize(size);
      if (size === 0) this.emit(this.header.subarray(0, 0));
      else this.startPartial(size);
    }
    return pos + n;
  }

  private fillPartial(chunk: Uint8Array, pos: number): number {
    const partial = this.partial!;
    const n = Math.min(partial.length - this.partialFill, chunk.length - pos);
    partial.set(chunk.subarray(pos, pos + n), this.partialFill);
    this.partialFill += n;
    if (this.partialFill === partial.length) {
      this.partial = undefined;
      this.partialFill = 0;
      this.emit(partial);
    }
    return pos + n;
  }

  private startPartial(size: number): void {
    this.partial = Buffer.allocUnsafe(size);
    this.partialFill = 0;
  }

  private checkSize(size: number): void {
    if (size <= this.maxFrameBytes) return;
    this.stopped = true;
    throw new FrameTooLargeError(size, this.maxFrameBytes);
  }

  private emit(payload: Uint8Array): void {
    if (this.onFrame(payload) === false) this.stopped = true;
  }
}

function readUint32(b: Uint8Array, pos: number): number {
  return ((b[pos]! << 24) | (b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!) >>> 0;
}
