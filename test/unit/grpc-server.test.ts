// The client port's gRPC server (src/server/grpc) over real loopback HTTP/2,
// driven by a raw client that controls every frame: unary, server-, client-
// and bidi streaming, deadlines, cancellation, flow control through pause,
// keepalive in both directions, --max-concurrent-streams and graceful close.
import * as http2 from 'node:http2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiServices } from '../../src/server/api/services.js';
import { frameMessage } from '../../src/server/grpc/framing.js';
import { Status, statusError } from '../../src/server/grpc/status.js';
import type { MethodDefinition, StreamCall, UnaryCall, UnaryCallback } from '../../src/server/grpc/types.js';
import { messageCodec } from '../../src/pb/registry.js';
import type * as pb from '../../src/pb/types.js';
import { serveGrpc, type ServedGrpc } from '../e2e/helpers/grpc-server.js';
import { decodeGrpcMessage, RawGrpc } from '../e2e/helpers/raw-grpc.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const defs = apiServices();
const rangeReq = messageCodec<pb.RangeRequest>('etcdserverpb.RangeRequest');
const rangeRes = messageCodec<pb.RangeResponse>('etcdserverpb.RangeResponse');
const kaReq = messageCodec<pb.LeaseKeepAliveRequest>('etcdserverpb.LeaseKeepAliveRequest');
const kaRes = messageCodec<pb.LeaseKeepAliveResponse>('etcdserverpb.LeaseKeepAliveResponse');
const snapRes = messageCodec<pb.SnapshotResponse>('etcdserverpb.SnapshotResponse');

/** A client-streaming method (etcd's API has none): the answer is the total size of the requests. */
const SUM: MethodDefinition<Buffer, Buffer> = {
  path: '/test.Bytes/Sum',
  requestStream: true,
  responseStream: false,
  decodeRequest: (b) => Buffer.from(b),
  encodeResponse: (r) => frameMessage(r),
};

let served: ServedGrpc | undefined;
let clients: RawGrpc[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await served?.close();
  served = undefined;
});

interface Seen { calls: (UnaryCall<unknown> | StreamCall<unknown, unknown>)[]; events: string[] }

/** The HTTP/2 layer the describe block below runs on (it runs once for each). */
let layer: 'node' | 'own' = 'node';

async function start(opts: Parameters<typeof serveGrpc>[1] = {}, rangeHandler?: (call: UnaryCall<pb.RangeRequest>, cb: UnaryCallback<unknown>) => void): Promise<{ client: RawGrpc; seen: Seen }> {
  const seen: Seen = { calls: [], events: [] };
  const watch = (c: UnaryCall<unknown> | StreamCall<unknown, unknown>, name: string): void => {
    seen.calls.push(c);
    c.on('cancelled', () => seen.events.push(`${name} cancelled`));
    c.on('close', () => seen.events.push(`${name} close`));
  };
  served = await serveGrpc([
    [defs.KV, {
      Range: (call: UnaryCall<pb.RangeRequest>, cb: UnaryCallback<unknown>) => {
        watch(call, 'range');
        if (rangeHandler) return rangeHandler(call, cb);
        const key = call.request.key.toString();
        if (key === 'fail') return cb(statusError(Status.FAILED_PRECONDITION, '100% wrong\nsecond line: é'));
        if (key === 'never') return; // answers nothing
        cb(null, { count: BigInt(key.length), kvs: [], more: false });
      },
    }],
    [defs.Lease, {
      LeaseKeepAlive: (call: StreamCall<pb.LeaseKeepAliveRequest, pb.Encodable<pb.LeaseKeepAliveResponse>>) => {
        watch(call, 'keepalive');
        call.on('data', (r) => {
          seen.events.push(`data ${r.ID}`);
          if (r.ID === 0n) call.pause();
          else call.write({ ID: r.ID, TTL: 5n });
        });
        call.on('end', () => {
          seen.events.push('end');
          call.end();
        });
      },
    }],
    [defs.Maintenance, {
      Snapshot: (call: StreamCall<unknown, pb.Encodable<pb.SnapshotResponse>>) => {
        watch(call, 'snapshot');
        for (let i = 1; i <= 3; i++) call.write({ remainingBytes: BigInt(3 - i), blob: Buffer.from(`part${i}`) });
        call.end();
      },
    }],
    [{ Sum: SUM }, {
      Sum: (call: UnaryCall<Buffer>, cb: UnaryCallback<Buffer>) => {
        let total = 0;
        const s = call as unknown as StreamCall<Buffer, Buffer>;
        s.on('data', (b) => (total += b.length));
        s.on('end', () => cb(null, Buffer.from(String(total))));
      },
    }],
  ], { h2: layer, ...opts });
  const client = new RawGrpc(`127.0.0.1:${served.port}`);
  clients.push(client);
  return { client, seen };
}

const framedRange = (key: string): Buffer => frameMessage(rangeReq.encode({ key: Buffer.from(key) } as never));

describe.each(['node', 'own'] as const)('gRPC server on %s HTTP/2', (impl) => {
  beforeEach(() => {
    layer = impl;
  });
  it('unary: a request cut over three DATA frames; headers, one message, status OK in the trailers', async () => {
    const { client, seen } = await start();
    const f = framedRange('abcd');
    const r = await client.call({ path: '/etcdserverpb.KV/Range', chunks: [f.subarray(0, 3), f.subarray(3, 8), f.subarray(8)] });
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['content-type']).toBe('application/grpc');
    expect(r.status).toEqual({ code: 0, message: '' });
    expect(r.messages.map((m) => rangeRes.decode(m).count)).toEqual([4n]);
    expect(seen.calls[0]!.getPeer()).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(seen.calls[0]!.getDeadline()).toBe(Infinity);
    // two requests merged in one frame on one stream: a unary call takes the first
    const two = await client.call({ path: '/etcdserverpb.KV/Range', chunks: [Buffer.concat([framedRange('xy'), framedRange('xyz')])] });
    expect(two.messages.map((m) => rangeRes.decode(m).count)).toEqual([2n]);
  });

  it('an error is a trailers-only response; grpc-message is percent-encoded', async () => {
    const { client } = await start();
    const r = await client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('fail')] });
    expect(r.messages).toEqual([]);
    expect(r.headers['grpc-status']).toBe('9');
    expect(r.headers['grpc-message']).toBe('100%25 wrong%0Asecond line: %C3%A9');
    expect(decodeGrpcMessage(String(r.headers['grpc-message']))).toBe('100% wrong\nsecond line: é');
  });

  it('request metadata reaches the handler', async () => {
    let got: string[] = [];
    const { client } = await start({}, (call, cb) => {
      got = [...call.metadata.get('hasleader'), ...call.metadata.get('absent')];
      cb(null, {});
    });
    await client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('a')], headers: { hasleader: 'true' } });
    expect(got).toEqual(['true']);
  });

  it('grpc-timeout: the call ends DEADLINE_EXCEEDED and the handler sees it cancelled', async () => {
    const { client, seen } = await start();
    const t0 = Date.now();
    const r = await client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('never')], headers: { 'grpc-timeout': '150m' } });
    const took = Date.now() - t0;
    expect(r.status).toEqual({ code: Status.DEADLINE_EXCEEDED, message: 'context deadline exceeded' });
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(2_000);
    const call = seen.calls[0]!;
    expect(call.cancelled).toBe(true);
    expect(call.getDeadline()).toBeGreaterThanOrEqual(t0 + 150);
    expect(call.getDeadline()).toBeLessThan(t0 + 1_000);
    await until('close', () => seen.events.includes('range close'));
    expect(seen.events).toEqual(['range cancelled', 'range close']);
  });

  it('RST_STREAM from the client: the handler sees cancelled, once, then close', async () => {
    const { client, seen } = await start();
    const { stream } = client.open({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('never')] });
    await until('the call', () => seen.calls.length === 1);
    expect(seen.calls[0]!.cancelled).toBe(false);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await until('close', () => seen.events.includes('range close'));
    expect(seen.events).toEqual(['range cancelled', 'range close']);
    expect(seen.calls[0]!.cancelled).toBe(true);
  });

  it('bidi: requests wait while the handler pauses (even those of the same frame), in order, then the half-close', async () => {
    const { client, seen } = await start();
    const reqs = [0n, 1n, 2n, 3n].map((ID) => frameMessage(kaReq.encode({ ID } as never)));
    const { stream, reply } = client.open({ path: '/etcdserverpb.Lease/LeaseKeepAlive', chunks: [Buffer.concat(reqs)] });
    await until('the first request', () => seen.events.includes('data 0'));
    await sleep(50);
    expect(seen.events).toEqual(['data 0']); // paused by the handler: the rest wait
    stream.end();
    await sleep(50);
    expect(seen.events).toEqual(['data 0']); // the half-close waits behind them
    (seen.calls[0] as StreamCall<unknown, unknown>).resume();
    const r = await reply;
    expect(seen.events.slice(0, 5)).toEqual(['data 0', 'data 1', 'data 2', 'data 3', 'end']);
    expect(r.messages.map((m) => kaRes.decode(m).ID)).toEqual([1n, 2n, 3n]);
    expect(r.status).toEqual({ code: 0, message: '' });
  });

  it('server streaming: three messages, then OK', async () => {
    const { client } = await start();
    const r = await client.call({ path: '/etcdserverpb.Maintenance/Snapshot', chunks: [frameMessage(Buffer.alloc(0))] });
    expect(r.messages.map((m) => snapRes.decode(m).blob.toString())).toEqual(['part1', 'part2', 'part3']);
    expect(r.status?.code).toBe(0);
  });

  it('client streaming: every request, then one answer', async () => {
    const { client } = await start();
    const r = await client.call({ path: '/test.Bytes/Sum', chunks: [frameMessage(Buffer.alloc(3)), Buffer.concat([frameMessage(Buffer.alloc(4)), frameMessage(Buffer.alloc(5))])] });
    expect(r.messages.map(String)).toEqual(['12']);
    expect(r.status?.code).toBe(0);
  });

  it("unknown services and methods: grpc-go's UNIMPLEMENTED texts", async () => {
    const { client } = await start();
    expect((await client.call({ path: '/etcdserverpb.KV/Nope', chunks: [framedRange('a')] })).status)
      .toEqual({ code: Status.UNIMPLEMENTED, message: 'unknown method Nope for service etcdserverpb.KV' });
    expect((await client.call({ path: '/nope.Svc/X', chunks: [framedRange('a')] })).status)
      .toEqual({ code: Status.UNIMPLEMENTED, message: 'unknown service nope.Svc' });
  });

  it('oversize, compressed, gzip-encoded, malformed and missing requests', async () => {
    const { client } = await start({ maxReceiveBytes: 64 });
    const big = await client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('k'.repeat(100))] });
    expect(big.status).toEqual({ code: Status.RESOURCE_EXHAUSTED, message: 'grpc: received message larger than max (102 vs. 64)' });
    const c = framedRange('a');
    c[0] = 1;
    expect((await client.call({ path: '/etcdserverpb.KV/Range', chunks: [c] })).status)
      .toEqual({ code: Status.INTERNAL, message: 'grpc: compressed flag set with identity or empty encoding' });
    expect((await client.call({ path: '/etcdserverpb.KV/Range', chunks: [c], headers: { 'grpc-encoding': 'gzip' } })).status)
      .toEqual({ code: Status.UNIMPLEMENTED, message: 'grpc: Decompressor is not installed for grpc-encoding "gzip"' });
    const garbage = await client.call({ path: '/etcdserverpb.KV/Range', chunks: [frameMessage(Buffer.from([0xff, 0xff]))] });
    expect(garbage.status?.code).toBe(Status.INTERNAL);
    expect(garbage.status?.message).toMatch(/^grpc: error unmarshalling request: /);
    expect((await client.call({ path: '/etcdserverpb.KV/Range', chunks: [] })).status).toEqual({ code: Status.UNKNOWN, message: 'EOF' });
    // a malformed grpc-timeout or a foreign content-type: the stream is reset, as grpc-go does
    expect((await client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('a')], headers: { 'grpc-timeout': '1x' } })).rstCode)
      .toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    expect((await client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('a')], headers: { 'content-type': 'text/plain' } })).rstCode)
      .toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    // the connection is still good
    expect((await client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('ok')] })).status?.code).toBe(0);
  });

  it('a client that keeps its side open after the status is reset (NO_ERROR) after the status arrived', async () => {
    const { client } = await start();
    const r = await client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('fail')], keepOpen: true });
    expect(r.status?.code).toBe(Status.FAILED_PRECONDITION);
    expect(r.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
  });

  it('too many pings: GOAWAY ENHANCE_YOUR_CALM "too_many_pings", like grpc-go', async () => {
    const { client } = await start({ keepaliveMinTimeMs: 5_000 });
    const results: string[] = [];
    for (let i = 0; i < 5; i++) results.push(await client.ping().then(() => 'ack', () => 'failed'));
    expect(results).toEqual(['ack', 'ack', 'ack', 'ack', 'failed']);
    expect(await client.goawayReceived).toEqual({ code: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, data: 'too_many_pings' });
  });

  it('pings within --grpc-keepalive-min-time are fine', async () => {
    const { client } = await start({ keepaliveMinTimeMs: 30 });
    await client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('a')] });
    const { reply } = client.open({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('never')] });
    void reply;
    for (let i = 0; i < 5; i++) {
      await client.ping();
      await sleep(40);
    }
    expect(client.goaway).toBeUndefined();
  });

  it('server keepalive: pings every --grpc-keepalive-interval', async () => {
    const { client } = await start({ keepaliveIntervalMs: 40, keepaliveTimeoutMs: 1_000 });
    let pings = 0;
    client.session.on('ping', () => pings++);
    await client.connected();
    await until('three server pings', () => pings >= 3, 2_000);
    expect(client.session.destroyed).toBe(false);
  });

  it('--max-concurrent-streams is the HTTP/2 setting', async () => {
    const { client } = await start({ maxConcurrentStreams: 7 });
    await client.connected();
    await until('settings', () => client.session.remoteSettings.maxConcurrentStreams === 7);
  });

  it('close(): GOAWAY, a unary call in flight still answers, then the connection closes', async () => {
    let answer: (() => void) | undefined;
    const { client } = await start({}, (call, cb) => {
      answer = () => cb(null, { count: 1n });
    });
    const inFlight = client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('a')] });
    await until('the call', () => answer !== undefined);
    const closing = served!.server.close(5_000);
    await client.goawayReceived;
    expect(client.goaway?.code).toBe(http2.constants.NGHTTP2_NO_ERROR);
    answer!();
    const r = await inFlight;
    expect(r.status?.code).toBe(0);
    expect(r.messages).toHaveLength(1);
    const t0 = Date.now();
    await closing;
    expect(Date.now() - t0).toBeLessThan(1_000);
    await until('the connection closed', () => client.session.destroyed || client.session.closed);
  });

  it('close(): open streams end UNAVAILABLE (clients retry elsewhere) once no unary call is in flight', async () => {
    const { client, seen } = await start();
    const { reply } = client.open({ path: '/etcdserverpb.Lease/LeaseKeepAlive', chunks: [frameMessage(kaReq.encode({ ID: 5n } as never))], keepOpen: true });
    await until('the stream', () => seen.events.includes('data 5'));
    const t0 = Date.now();
    await served!.server.close(5_000);
    expect(Date.now() - t0).toBeLessThan(2_000);
    const r = await reply;
    expect(r.messages.map((m) => kaRes.decode(m).ID)).toEqual([5n]);
    expect(r.status).toEqual({ code: Status.UNAVAILABLE, message: 'transport is closing' });
    await until('the call closed', () => seen.events.includes('keepalive close'));
  });

  it('close(): the grace bound cuts a unary call that does not answer', async () => {
    const { client, seen } = await start();
    const inFlight = client.call({ path: '/etcdserverpb.KV/Range', chunks: [framedRange('never')] });
    await until('the call', () => seen.calls.length === 1);
    const t0 = Date.now();
    await served!.server.close(200);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((await inFlight).status).toBeUndefined();
    await until('the call cancelled', () => seen.events.includes('range cancelled'));
  });
});
