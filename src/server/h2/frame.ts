// HTTP/2 frames (RFC 7540 §4, §6): the numbers of the protocol, the frames a
// server sends, and a reader that cuts a connection's bytes into frames after
// checking the client's preface. Pure: no sockets, no connection state.

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const FRAME_HEADER_BYTES = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value, and the largest frame we accept. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const DEFAULT_INITIAL_WINDOW = 65_535;
export const MAX_WINDOW = 2 ** 31 - 1;

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/**
 * A protocol violation. streamId 0: a connection error (GOAWAY, then the
 * connection closes); otherwise a stream error (RST_STREAM on that stream).
 */
export class H2Error extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly streamId = 0,
  ) {
    super(message);
  }
}

export function writeFrameHeader(buf: Buffer, at: number, length: number, type: number, flags: number, streamId: number): void {
  buf[at] = length >>> 16;
  buf[at + 1] = (length >>> 8) & 0xff;
  buf[at + 2] = length & 0xff;
  buf[at + 3] = type;
  buf[at + 4] = flags;
  buf.writeUInt32BE(streamId & MAX_WINDOW, at + 5);
}

function frame(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, streamId);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

export function settingsFrame(settings: readonly (readonly [number, number])[]): Buffer {
  const payload = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

export const SETTINGS_ACK = frame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(0));

export function pingFrame(payload: Uint8Array, ack: boolean): Buffer {
  return frame(FrameType.PING, ack ? Flag.ACK : 0, 0, payload);
}

export function goawayFrame(lastStreamId: number, code: number, debug: Uint8Array = Buffer.alloc(0)): Buffer {
  const payload = Buffer.allocUnsafe(8 + debug.length);
  payload.writeUInt32BE(lastStreamId & MAX_WINDOW, 0);
  payload.writeUInt32BE(code, 4);
  payload.set(debug, 8);
  return frame(FrameType.GOAWAY, 0, 0, payload);
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

/** Where the reader's frames go (payload: a view of the bytes read, valid as long as the caller keeps it). */
export interface FrameSink {
  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void;
}

/**
 * Cuts a connection's bytes into frames. The first 24 bytes must be the
 * client's preface; a frame longer than maxFrameSize is a connection error
 * (FRAME_SIZE_ERROR). push() throws H2Error; after that the reader is done.
 */
export class FrameReader {
  private pending: Buffer | undefined;
  private prefaceSeen: boolean;

  /** expectPreface false: a client's reader of a server's frames (tests). */
  constructor(
    private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE,
    expectPreface = true,
  ) {
    this.prefaceSeen = !expectPreface;
  }

  push(chunk: Buffer, sink: FrameSink): void {
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let pos = 0;
    if (!this.prefaceSeen) {
      const n = Math.min(buf.length, PREFACE.length);
      if (!buf.subarray(0, n).equals(PREFACE.subarray(0, n))) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'bad connection preface');
      if (n < PREFACE.length) {
        this.pending = buf;
        return;
      }
      this.prefaceSeen = true;
      pos = PREFACE.length;
    }
    while (buf.length - pos >= FRAME_HEADER_BYTES) {
      const length = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
      if (length > this.maxFrameSize) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes exceeds ${this.maxFrameSize}`);
      const end = pos + FRAME_HEADER_BYTES + length;
      if (end > buf.length) break;
      const type = buf[pos + 3]!;
      const flags = buf[pos + 4]!;
      const streamId = buf.readUInt32BE(pos + 5) & MAX_WINDOW;
      sink.onFrame(type, flags, streamId, buf.subarray(pos + FRAME_HEADER_BYTES, end));
      pos = end;
    }
    if (pos < buf.length) this.pending = pos === 0 ? buf : Buffer.from(buf.subarray(pos));
  }

  /**
   * The payload of a frame with the PADDED flag without its padding
   * (RFC 7540 §6.1): a pad length reaching past the frame is a PROTOCOL_ERROR.
   */
  static unpad(payload: Buffer, flags: number, extraHead = 0): Buffer {
    let start = extraHead;
    let padLength = 0;
    if (flags & Flag.PADDED) {
      if (payload.length < 1) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'padded frame without pad length');
      padLength = payload[0]!;
      start += 1;
    }
    if (start + padLength > payload.length) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'padding exceeds the frame');
    return payload.subarray(start, payload.length - padLength);
  }
}
