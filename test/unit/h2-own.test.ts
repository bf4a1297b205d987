// Our own HTTP/2 server connection (src/server/h2): the frame codec, HPACK
// against RFC 7541's examples, and a connection driven frame by frame over
// loopback: preface, SETTINGS, PING, malformed input and its error codes,
// CONTINUATION, padding, flow control both ways, RST_STREAM, stream limits.
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { H2Connection, type H2ConnectionOptions } from '../../src/server/h2/connection.js';
import {
  ErrorCode, Flag, FrameReader, FrameType, goawayFrame, H2Error, PREFACE, pingFrame, rstStreamFrame, Setting,
  settingsFrame, windowUpdateFrame, writeFrameHeader, FRAME_HEADER_BYTES,
} from '../../src/server/h2/frame.js';
import { HpackDecoder } from '../../src/server/h2/hpack-decoder.js';
import { RESET_BURST, RESETS_PER_SECOND, ResetBudget } from '../../src/server/h2/reset-budget.js';
import { encodeHeaderBlock } from '../../src/server/h2/hpack-encoder.js';
import type { H2Stream } from '../../src/server/h2/stream.js';
import type { RequestHeaders, StreamSink } from '../../src/server/grpc/stream-port.js';

interface Frame { type: number; flags: number; streamId: number; payload: Buffer }

function rawFrame(type: number, flags: number, streamId: number, payload: Buffer | Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, streamId);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

function collect(reader: FrameReader, ...chunks: Buffer[]): Frame[] {
  const frames: Frame[] = [];
  for (const c of chunks) reader.push(c, { onFrame: (type, flags, streamId, payload) => frames.push({ type, flags, streamId, payload: Buffer.from(payload) }) });
  return frames;
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('frame codec', () => {
  it('round trips the frames a server sends, whatever the chunking', () => {
    const bytes = Buffer.concat([
      PREFACE,
      settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 1000], [Setting.MAX_FRAME_SIZE, 20000]]),
      pingFrame(Buffer.from('12345678'), true),
      goawayFrame(7, ErrorCode.ENHANCE_YOUR_CALM, Buffer.from('too_many_pings')),
      rstStreamFrame(3, ErrorCode.CANCEL),
      windowUpdateFrame(5, 12345),
    ]);
    for (const cut of [1, 5, 9, 24, 30, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += cut) chunks.push(bytes.subarray(i, i + cut));
      const frames = collect(new FrameReader(), ...chunks);
      expect(frames.map((f) => [f.type, f.flags, f.streamId])).toEqual([
        [FrameType.SETTINGS, 0, 0], [FrameType.PING, Flag.ACK, 0], [FrameType.GOAWAY, 0, 0],
        [FrameType.RST_STREAM, 0, 3], [FrameType.WINDOW_UPDATE, 0, 5],
      ]);
      expect(frames[0]!.payload.readUInt32BE(2)).toBe(1000);
      expect(frames[0]!.payload.readUInt32BE(8)).toBe(20000);
      expect(frames[1]!.payload.toString()).toBe('12345678');
      expect(frames[2]!.payload.readUInt32BE(0)).toBe(7);
      expect(frames[2]!.payload.readUInt32BE(4)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
      expect(frames[2]!.payload.subarray(8).toString()).toBe('too_many_pings');
      expect(frames[3]!.payload.readUInt32BE(0)).toBe(ErrorCode.CANCEL);
      expect(frames[4]!.payload.readUInt32BE(0)).toBe(12345);
    }
  });

  it('a bad preface is a PROTOCOL_ERROR, found as soon as a byte differs', () => {
    const reader = new FrameReader();
    expect(() => collect(reader, Buffer.from('PRI * HTTP/1.1'))).toThrow(H2Error);
    try {
      collect(new FrameReader(), Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    } catch (e) {
      expect((e as H2Error).code).toBe(ErrorCode.PROTOCOL_ERROR);
    }
  });

  it('a frame longer than SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR before its payload arrives', () => {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    writeFrameHeader(header, 0, 16_385, FrameType.DATA, 0, 1);
    expect(() => collect(new FrameReader(), PREFACE, header)).toThrow(expect.objectContaining({ code: ErrorCode.FRAME_SIZE_ERROR }));
    expect(collect(new FrameReader(16_384, false), rawFrame(FrameType.DATA, 0, 1, Buffer.alloc(16_384)))).toHaveLength(1);
  });

  it('unpad: padding removed; padding past the frame is a PROTOCOL_ERROR', () => {
    const padded = Buffer.concat([Buffer.from([3]), Buffer.from('data'), Buffer.alloc(3)]);
    expect(FrameReader.unpad(padded, Flag.PADDED).toString()).toBe('data');
    expect(FrameReader.unpad(Buffer.from('data'), 0).toString()).toBe('data');
    const withPriority = Buffer.concat([Buffer.from([1]), Buffer.alloc(5), Buffer.from('blk'), Buffer.alloc(1)]);
    expect(FrameReader.unpad(withPriority, Flag.PADDED | Flag.PRIORITY, 5).toString()).toBe('blk');
    expect(() => FrameReader.unpad(Buffer.from([9, 1, 2]), Flag.PADDED)).toThrow(expect.objectContaining({ code: ErrorCode.PROTOCOL_ERROR }));
  });
});

describe('HPACK', () => {
  it("decodes RFC 7541 C.3 (requests, dynamic table) and C.4 (the same with Huffman)", () => {
    for (const blocks of [
      ['828684410f7777772e6578616d706c652e636f6d', '828684be58086e6f2d6361636865', '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565'],
      ['828684418cf1e3c2e5f23a6ba0ab90f4ff', '828684be5886a8eb10649cbf', '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'],
    ]) {
      const d = new HpackDecoder();
      expect(d.decode(hex(blocks[0]!))).toEqual([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']]);
      expect(d.tableSize).toBe(57);
      expect(d.decode(hex(blocks[1]!))).toEqual([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']]);
      expect(d.tableSize).toBe(110);
      expect(d.decode(hex(blocks[2]!))).toEqual([[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']]);
      expect(d.tableSize).toBe(164);
    }
  });

  it('size updates: evict, refuse one above our limit or after a field; bad indices are errors', () => {
    const d = new HpackDecoder(4096);
    d.decode(hex('828684410f7777772e6578616d706c652e636f6d'));
    expect(d.tableSize).toBe(57);
    d.decode(hex('20')); // size 0: empties the table
    expect(d.tableSize).toBe(0);
    expect(() => d.decode(hex('be'))).toThrow(/beyond the table/);
    expect(() => d.decode(hex('3fe21f'))).toThrow(/exceeds/); // 4097
    expect(() => d.decode(hex('8220'))).toThrow(/after a header field/);
    expect(() => d.decode(hex('80'))).toThrow(/index 0/);
  });

  it('the encoder (static table only) round trips through the decoder', () => {
    const fields: [string, string][] = [
      [':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '3'],
      ['grpc-message', 'bad %25 thing'], [':status', '404'], ['x-long', 'v'.repeat(300)],
    ];
    const block = encodeHeaderBlock(fields);
    expect(block[0]).toBe(0x88); // :status 200 is static index 8
    const d = new HpackDecoder();
    expect(d.decode(block)).toEqual(fields);
    expect(d.tableSize).toBe(0); // nothing indexed
  });
});

// ---- a connection over loopback, driven frame by frame

interface Served {
  port: number;
  streams: { stream: H2Stream; headers: RequestHeaders; events: string[]; data: Buffer[] }[];
  pings: number;
  closed: boolean;
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup) c();
  cleanup = [];
});

async function serve(opts: Partial<H2ConnectionOptions> = {}, onStream?: (s: H2Stream, headers: RequestHeaders) => void): Promise<Served> {
  const served: Served = { port: 0, streams: [], pings: 0, closed: false };
  const server = net.createServer((socket) => {
    const conn = new H2Connection(socket, {
      onStream: (stream, headers) => {
        const rec = { stream, headers, events: [] as string[], data: [] as Buffer[] };
        served.streams.push(rec);
        const sink: StreamSink = {
          onData: (c) => { rec.data.push(Buffer.from(c)); rec.events.push(`data ${c.length}`); },
          onEnd: () => rec.events.push('end'),
          onClose: () => rec.events.push('close'),
          onDrain: () => rec.events.push('drain'),
        };
        stream.attach(sink);
        onStream?.(stream, headers);
      },
      onPing: () => served.pings++,
      onDataSent: () => {},
      onClose: () => (served.closed = true),
      ...opts,
    });
    conn.start();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  served.port = (server.address() as net.AddressInfo).port;
  cleanup.push(() => server.close());
  return served;
}

class RawClient {
  readonly frames: Frame[] = [];
  private readonly reader = new FrameReader(2 ** 24 - 1, false);
  ended = false;
  constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => this.reader.push(c, { onFrame: (type, flags, streamId, payload) => this.frames.push({ type, flags, streamId, payload: Buffer.from(payload) }) }));
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => {});
  }

  static async connect(port: number, settings: [number, number][] = []): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const c = new RawClient(socket);
    cleanup.push(() => socket.destroy());
    socket.write(Buffer.concat([PREFACE, settingsFrame(settings)]));
    await c.until('SETTINGS', (f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK));
    await c.until('SETTINGS ACK', (f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0);
    return c;
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  async until(what: string, pred: (f: Frame) => boolean, ms = 3000): Promise<Frame> {
    const end = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.map((x) => [x.type, x.flags, x.streamId]))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async goaway(): Promise<number> {
    const f = await this.until('GOAWAY', (x) => x.type === FrameType.GOAWAY);
    return f.payload.readUInt32BE(4);
  }

  dataOn(streamId: number): number {
    return this.frames.filter((f) => f.type === FrameType.DATA && f.streamId === streamId).reduce((n, f) => n + f.payload.length, 0);
  }
}

const REQUEST = encodeHeaderBlock([[':method', 'POST'], [':scheme', 'http'], [':path', '/svc/M'], [':authority', 'http://127.0.0.1:2379'], ['content-type', 'application/grpc']]);
const headers = (id: number, flags: number = Flag.END_HEADERS): Buffer => rawFrame(FrameType.HEADERS, flags, id, REQUEST);
const until = async (what: string, cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('own HTTP/2 connection', () => {
  it('SETTINGS both ways with ACKs; PING answered; unknown frame types and PRIORITY ignored', async () => {
    const s = await serve({ maxConcurrentStreams: 9 });
    const c = await RawClient.connect(s.port);
    const ours = c.frames.find((f) => f.type === FrameType.SETTINGS)!;
    const settings = new Map<number, number>();
    for (let i = 0; i < ours.payload.length; i += 6) settings.set(ours.payload.readUInt16BE(i), ours.payload.readUInt32BE(i + 2));
    expect(settings.get(Setting.MAX_CONCURRENT_STREAMS)).toBe(9);
    await c.until('SETTINGS ACK', (f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0);
    c.send(rawFrame(0xfa, 0xff, 0, Buffer.from('whatever')), rawFrame(FrameType.PRIORITY, 0, 1, Buffer.alloc(5)), pingFrame(Buffer.from('abcdefgh'), false));
    const ack = await c.until('PING ACK', (f) => f.type === FrameType.PING);
    expect(ack.flags & Flag.ACK).toBe(Flag.ACK);
    expect(ack.payload.toString()).toBe('abcdefgh');
    expect(s.pings).toBe(1);
  });

  it.each([
    ['a bad preface', [Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n')], ErrorCode.PROTOCOL_ERROR],
    ['no SETTINGS after the preface', [PREFACE, pingFrame(Buffer.alloc(8), false)], ErrorCode.PROTOCOL_ERROR],
    ['a frame too large', [PREFACE, settingsFrame([]), rawFrame(FrameType.DATA, 0, 1, Buffer.alloc(16_385))], ErrorCode.FRAME_SIZE_ERROR],
    ['a connection window overflow', [PREFACE, settingsFrame([]), windowUpdateFrame(0, 2 ** 31 - 1)], ErrorCode.FLOW_CONTROL_ERROR],
    ['CONTINUATION interleaved with another frame', [PREFACE, settingsFrame([]), headers(1, 0), pingFrame(Buffer.alloc(8), false)], ErrorCode.PROTOCOL_ERROR],
    ['CONTINUATION without HEADERS', [PREFACE, settingsFrame([]), rawFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, REQUEST)], ErrorCode.PROTOCOL_ERROR],
    ['a garbled header block', [PREFACE, settingsFrame([]), rawFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0xff, 0xff]))], ErrorCode.COMPRESSION_ERROR],
    ['DATA on an idle stream', [PREFACE, settingsFrame([]), rawFrame(FrameType.DATA, 0, 5, Buffer.from('x'))], ErrorCode.PROTOCOL_ERROR],
    ['an even stream id', [PREFACE, settingsFrame([]), headers(2)], ErrorCode.PROTOCOL_ERROR],
    ['a PING of 7 bytes', [PREFACE, settingsFrame([]), rawFrame(FrameType.PING, 0, 0, Buffer.alloc(7))], ErrorCode.FRAME_SIZE_ERROR],
    ['SETTINGS with a bad MAX_FRAME_SIZE', [PREFACE, settingsFrame([[Setting.MAX_FRAME_SIZE, 100]])], ErrorCode.PROTOCOL_ERROR],
    ['PUSH_PROMISE from a client', [PREFACE, settingsFrame([]), rawFrame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.alloc(4))], ErrorCode.PROTOCOL_ERROR],
  ])('%s: GOAWAY with the right code, then the connection closes', async (_what, bytes, code) => {
    const s = await serve();
    const socket = net.connect(s.port, '127.0.0.1');
    const c = new RawClient(socket);
    cleanup.push(() => socket.destroy());
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(Buffer.concat(bytes));
    expect(await c.goaway()).toBe(code);
    await until('the connection closed', () => c.ended && s.closed);
  });

  it('a client that never completes its preface and SETTINGS is closed after prefaceTimeoutMs', async () => {
    const s = await serve({ prefaceTimeoutMs: 100 });
    const socket = net.connect(s.port, '127.0.0.1');
    const c = new RawClient(socket);
    cleanup.push(() => socket.destroy());
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const t0 = Date.now();
    socket.write(PREFACE.subarray(0, 10));
    await until('closed', () => c.ended && s.closed, 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  });

  it('HEADERS + CONTINUATION, padding, an odd :authority; DATA delivered, END_STREAM is the end', async () => {
    const s = await serve();
    const c = await RawClient.connect(s.port);
    const padded = Buffer.concat([Buffer.from([4]), REQUEST.subarray(0, 10), Buffer.alloc(4)]);
    c.send(
      rawFrame(FrameType.HEADERS, Flag.PADDED, 1, padded),
      rawFrame(FrameType.CONTINUATION, 0, 1, REQUEST.subarray(10, 20)),
      rawFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, REQUEST.subarray(20)),
      rawFrame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([2, 0x61, 0x62, 0, 0])),
      rawFrame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from('cd')),
    );
    await until('end', () => s.streams[0]?.events.includes('end') ?? false);
    expect(s.streams[0]!.headers[':authority']).toBe('http://127.0.0.1:2379');
    expect(s.streams[0]!.headers[':path']).toBe('/svc/M');
    expect(Buffer.concat(s.streams[0]!.data).toString()).toBe('abcd');
    expect(s.streams[0]!.events).toEqual(['data 2', 'data 2', 'end']);
  });

  it('a unary response is HEADERS, DATA and trailers in one write; the stream then closes', async () => {
    const s = await serve({}, (stream) => setTimeout(() => stream.finish(Object.freeze({ 'grpc-status': '0' }), Buffer.from('\0\0\0\0\x02hi'))));
    const c = await RawClient.connect(s.port);
    const writes: number[] = [];
    c.socket.on('data', (chunk: Buffer) => writes.push(chunk.length));
    c.send(headers(1, Flag.END_HEADERS | Flag.END_STREAM));
    const trailers = await c.until('trailers', (f) => f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0);
    expect(new HpackDecoder().decode(trailers.payload)).toEqual([['grpc-status', '0']]);
    const frames = c.frames.filter((f) => f.streamId === 1).map((f) => f.type);
    expect(frames).toEqual([FrameType.HEADERS, FrameType.DATA, FrameType.HEADERS]);
    // :status 200 (1 byte) + content-type by static name (3 + 16); DATA of 7; trailers
    expect(writes).toEqual([9 + 20 + 9 + 7 + 9 + trailers.payload.length]);
    await until('close', () => s.streams[0]!.events.includes('close'));
  });

  it('flow control: a response larger than the window waits for WINDOW_UPDATE; SETTINGS changes the open streams', async () => {
    let stream: H2Stream | undefined;
    const s = await serve({}, (st) => (stream = st));
    const c = await RawClient.connect(s.port, [[Setting.INITIAL_WINDOW_SIZE, 100]]);
    c.send(headers(1, Flag.END_HEADERS | Flag.END_STREAM));
    await until('the stream', () => stream !== undefined);
    const body = Buffer.alloc(1000, 7);
    expect(stream!.write(body)).toBe(true); // 900 bytes queued: below the high-water mark
    stream!.finish(Object.freeze({ 'grpc-status': '0' }));
    await c.until('100 bytes', () => c.dataOn(1) === 100);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.dataOn(1)).toBe(100); // never more than the window
    c.send(windowUpdateFrame(1, 250));
    await c.until('350 bytes', () => c.dataOn(1) === 350);
    // A larger initial window: the open stream's window grows by the difference (100 → 700: +600).
    c.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 700]]));
    await c.until('950 bytes', () => c.dataOn(1) === 950);
    expect(c.frames.some((f) => f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0)).toBe(false);
    c.send(windowUpdateFrame(1, 50));
    await c.until('trailers', (f) => f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0);
    expect(c.dataOn(1)).toBe(1000);
    // A smaller window may make it negative; a stream window overflow is a stream error.
    c.send(headers(3), windowUpdateFrame(3, 2 ** 31 - 1));
    const rst = await c.until('RST_STREAM', (f) => f.type === FrameType.RST_STREAM && f.streamId === 3);
    expect(rst.payload.readUInt32BE(0)).toBe(ErrorCode.FLOW_CONTROL_ERROR);
  });

  it('the connection window limits every stream; write() says wait above the high-water mark, then drains', async () => {
    let stream: H2Stream | undefined;
    const s = await serve({}, (st) => (stream = st));
    const c = await RawClient.connect(s.port, [[Setting.INITIAL_WINDOW_SIZE, 1 << 20]]);
    c.send(headers(1, Flag.END_HEADERS | Flag.END_STREAM));
    await until('the stream', () => stream !== undefined);
    expect(stream!.write(Buffer.alloc(200_000))).toBe(false); // 65,535 out, the rest waits
    await c.until('65535 bytes', () => c.dataOn(1) === 65_535);
    c.send(windowUpdateFrame(0, 200_000));
    await c.until('all', () => c.dataOn(1) === 200_000);
    await until('drain', () => s.streams[0]!.events.includes('drain'));
  });

  it('received DATA is credited back (WINDOW_UPDATE), except while the stream is paused', async () => {
    let stream: H2Stream | undefined;
    const s = await serve({}, (st) => (stream = st));
    const c = await RawClient.connect(s.port);
    c.send(headers(1));
    await until('the stream', () => stream !== undefined);
    stream!.pause();
    for (let i = 0; i < 40; i++) c.send(rawFrame(FrameType.DATA, 0, 1, Buffer.alloc(16_384)));
    await new Promise((r) => setTimeout(r, 100));
    expect(s.streams[0]!.data).toHaveLength(0);
    expect(c.frames.some((f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === 1)).toBe(false);
    stream!.resume();
    await until('delivered', () => s.streams[0]!.data.length === 40);
    const credit = await c.until('stream WINDOW_UPDATE', (f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === 1);
    expect(credit.payload.readUInt32BE(0)).toBe(40 * 16_384);
  });

  it('RST_STREAM from the client reaches the stream at once; max concurrent streams refuses the next', async () => {
    const s = await serve({ maxConcurrentStreams: 2 });
    const c = await RawClient.connect(s.port);
    c.send(headers(1), headers(3), headers(5));
    const refused = await c.until('REFUSED_STREAM', (f) => f.type === FrameType.RST_STREAM && f.streamId === 5);
    expect(refused.payload.readUInt32BE(0)).toBe(ErrorCode.REFUSED_STREAM);
    expect(s.streams).toHaveLength(2);
    c.send(rstStreamFrame(1, ErrorCode.CANCEL));
    await until('close', () => s.streams[0]!.events.includes('close'));
    c.send(headers(7));
    await until('a new stream', () => s.streams.length === 3);
    // DATA after END_STREAM: STREAM_CLOSED on that stream only.
    c.send(rawFrame(FrameType.DATA, Flag.END_STREAM, 3, Buffer.from('x')), rawFrame(FrameType.DATA, 0, 3, Buffer.from('y')));
    const closed = await c.until('STREAM_CLOSED', (f) => f.type === FrameType.RST_STREAM && f.streamId === 3);
    expect(closed.payload.readUInt32BE(0)).toBe(ErrorCode.STREAM_CLOSED);
    expect(c.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
  });

  it('resets the client sends or causes are budgeted: past it, GOAWAY ENHANCE_YOUR_CALM and the connection ends', async () => {
    let now = 0;
    const s = await serve({ maxConcurrentStreams: 1, resetBudget: new ResetBudget(3, 1, () => now) });
    const c = await RawClient.connect(s.port);
    // A stream over the limit it was told, and a stream error it causes (DATA after END_STREAM), cost a reset each.
    c.send(headers(1, Flag.END_HEADERS | Flag.END_STREAM), headers(3));
    await c.until('REFUSED_STREAM', (f) => f.type === FrameType.RST_STREAM && f.streamId === 3);
    c.send(rawFrame(FrameType.DATA, 0, 1, Buffer.from('y')));
    await c.until('STREAM_CLOSED', (f) => f.type === FrameType.RST_STREAM && f.streamId === 1);
    c.send(headers(5), rstStreamFrame(5, ErrorCode.CANCEL));
    await until('stream 5 closed', () => s.streams[1]?.events.includes('close') === true);
    now = 1000; // one reset earned back
    c.send(headers(7), rstStreamFrame(7, ErrorCode.CANCEL));
    await until('stream 7 closed', () => s.streams[2]?.events.includes('close') === true);
    expect(c.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
    c.send(headers(9), rstStreamFrame(9, ErrorCode.CANCEL));
    const goaway = await c.until('GOAWAY', (f) => f.type === FrameType.GOAWAY);
    expect(goaway.payload.readUInt32BE(4)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(goaway.payload.subarray(8).toString()).toBe('too many stream resets');
    await until('the connection closed', () => s.closed && c.ended);
    expect(s.streams.map((x) => x.stream.id)).toEqual([1, 5, 7, 9]);
  });

  it('rapid reset at full speed (CVE-2023-44487): the default budget cuts the client off after about 1,000 streams', async () => {
    const s = await serve();
    const c = await RawClient.connect(s.port);
    const flood: Buffer[] = [];
    for (let id = 1; id < 6000; id += 2) flood.push(headers(id), rstStreamFrame(id, ErrorCode.CANCEL));
    const started = performance.now();
    c.send(...flood);
    const goaway = await c.until('GOAWAY', (f) => f.type === FrameType.GOAWAY);
    const seconds = (performance.now() - started) / 1000;
    expect(goaway.payload.readUInt32BE(4)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    await until('the connection closed', () => s.closed);
    expect(s.streams.length).toBeGreaterThan(RESET_BURST);
    expect(s.streams.length).toBeLessThanOrEqual(RESET_BURST + 1 + Math.ceil(seconds * RESETS_PER_SECOND));
  });

  it('the server resets a stream; a client that keeps its side open after the status gets RST_STREAM NO_ERROR', async () => {
    const s = await serve({}, (st) => setTimeout(() => st.finish(Object.freeze({ 'grpc-status': '5', 'grpc-message': 'nope' }))));
    const c = await RawClient.connect(s.port);
    c.send(headers(1));
    const status = await c.until('trailers-only', (f) => f.type === FrameType.HEADERS && f.streamId === 1);
    expect(status.flags & Flag.END_STREAM).toBe(Flag.END_STREAM);
    expect(new HpackDecoder().decode(status.payload)).toEqual([[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '5'], ['grpc-message', 'nope']]);
    const rst = await c.until('RST_STREAM', (f) => f.type === FrameType.RST_STREAM && f.streamId === 1);
    expect(rst.payload.readUInt32BE(0)).toBe(ErrorCode.NO_ERROR);
    await until('close', () => s.streams[0]!.events.includes('close'));
  });

  it('GOAWAY from the client is accepted; close(): GOAWAY NO_ERROR, later streams refused, the connection ends with its last stream', async () => {
    let conn: H2Connection | undefined;
    const s = await serve();
    const server = net.createServer((socket) => {
      conn = new H2Connection(socket, { onStream: (st) => s.streams.push({ stream: st, headers: {}, events: [], data: [] }), onPing: () => {}, onDataSent: () => {}, onClose: () => (s.closed = true) });
      conn.start();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => server.close());
    const c = await RawClient.connect((server.address() as net.AddressInfo).port);
    c.send(headers(1), goawayFrame(0, ErrorCode.NO_ERROR));
    await until('stream', () => s.streams.length === 1);
    conn!.close();
    expect(await c.goaway()).toBe(ErrorCode.NO_ERROR);
    c.send(headers(3));
    await c.until('REFUSED_STREAM', (f) => f.type === FrameType.RST_STREAM && f.streamId === 3);
    expect(c.ended).toBe(false);
    s.streams[0]!.stream.finish(Object.freeze({ 'grpc-status': '0' }));
    await until('ended', () => c.ended && s.closed);
  });
});
