// The client port's gRPC transport, frame by frame, against bin/etcd-ts and
// (when installed) etcd 3.4.23: both get the same raw HTTP/2 requests and the
// expectations are what etcd answered (recorded by this test's etcd run):
// unknown methods, oversize / compressed / gzip / empty / malformed requests,
// requests cut across DATA frames, a Watch past its grpc-timeout, a client
// that resets its Watch stream, a client resetting calls as fast as it can
// (rapid reset), and a client pinging too often.
import * as http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageCodec } from '../../src/pb/registry.js';
import type * as pb from '../../src/pb/types.js';
import { etcdctl, etcdIs34, IN_CI, startMember, stopMember, type Member } from './helpers/etcd-process.js';
import { frame, RawGrpc } from './helpers/raw-grpc.js';

const WITH_ETCD = etcdIs34();
// In CI the comparison with the real etcd is part of the test, never skipped.
if (!WITH_ETCD && IN_CI) throw new Error('etcd 3.4 must be on PATH in CI');
const IMPLS: ('etcd-ts' | 'etcd')[] = ['etcd-ts', ...(WITH_ETCD ? (['etcd'] as const) : [])];
const RANGE = '/etcdserverpb.KV/Range';
const rangeReq = (key: string): Buffer => frame(messageCodec('etcdserverpb.RangeRequest').encode({ key: Buffer.from(key) } as never));
const putReq = (key: string, value: Buffer): Buffer =>
  frame(messageCodec('etcdserverpb.PutRequest').encode({ key: Buffer.from(key), value } as never));
const watchCreate = (key: string): Buffer =>
  frame(messageCodec('etcdserverpb.WatchRequest').encode({ createRequest: { key: Buffer.from(key) } } as never));
const rangeRes = messageCodec<pb.RangeResponse>('etcdserverpb.RangeResponse');
/** etcd 3.4.23 let the rapid-reset client below go on (no GOAWAY); recorded by this test's etcd run. We cut it off, as Node's HTTP/2 layer does (with INTERNAL_ERROR; ours says ENHANCE_YOUR_CALM and why). */
const ETCD_AFTER_RAPID_RESET: { code: number; data: string } | undefined = undefined;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function watchStreams(m: Member): Promise<number> {
  const text = await (await fetch(`http://${m.endpoint}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watch_stream_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe.each(IMPLS)('gRPC transport, frame by frame (%s)', (impl) => {
  let m: Member;
  const clients: RawGrpc[] = [];
  const client = (): RawGrpc => {
    const c = new RawGrpc(m.endpoint);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    m = await startMember({ impl });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await stopMember(m);
  });

  it('a request cut across DATA frames, and two calls whose frames interleave', async () => {
    const c = client();
    const f = rangeReq('abc');
    const r = await c.call({ path: RANGE, chunks: [f.subarray(0, 2), f.subarray(2, 7), f.subarray(7)] });
    expect(r.status).toEqual({ code: 0, message: '' });
    expect(r.headers['content-type']).toBe('application/grpc');
    expect(r.messages.map((x) => rangeRes.decode(x).count)).toEqual([0n]);
    const a = c.open({ path: RANGE, chunks: [f.subarray(0, 4)], keepOpen: true });
    const b = c.open({ path: RANGE, chunks: [f.subarray(0, 6)], keepOpen: true });
    a.stream.end(f.subarray(4));
    b.stream.end(f.subarray(6));
    expect((await a.reply).status?.code).toBe(0);
    expect((await b.reply).status?.code).toBe(0);
  });

  it('unknown methods and services', async () => {
    const c = client();
    expect((await c.call({ path: '/etcdserverpb.KV/Nope', chunks: [rangeReq('a')] })).status)
      .toEqual({ code: 12, message: 'unknown method Nope for service etcdserverpb.KV' });
    expect((await c.call({ path: '/foo.Bar/Nope', chunks: [rangeReq('a')] })).status)
      .toEqual({ code: 12, message: 'unknown service foo.Bar' });
  });

  it('requests refused: too large, compressed, gzip, garbage, missing; bad grpc-timeout or content-type reset the stream', async () => {
    const c = client();
    // default --max-request-bytes (1.5 MiB) + 512 KiB of gRPC overhead
    expect((await c.call({ path: '/etcdserverpb.KV/Put', chunks: [putReq('k', Buffer.alloc(3 << 20))] })).status)
      .toEqual({ code: 8, message: 'grpc: received message larger than max (3145736 vs. 2097152)' });
    const compressed = rangeReq('a');
    compressed[0] = 1;
    expect((await c.call({ path: RANGE, chunks: [compressed] })).status)
      .toEqual({ code: 13, message: 'grpc: compressed flag set with identity or empty encoding' });
    const odd = rangeReq('a');
    odd[0] = 2;
    expect((await c.call({ path: RANGE, chunks: [odd] })).status)
      .toEqual({ code: 13, message: 'grpc: received unexpected payload format 2' });
    expect((await c.call({ path: RANGE, chunks: [compressed], headers: { 'grpc-encoding': 'gzip' } })).status)
      .toEqual({ code: 12, message: 'grpc: Decompressor is not installed for grpc-encoding "gzip"' });
    const garbage = await c.call({ path: RANGE, chunks: [frame(Buffer.from([0xff, 0xff]))] });
    expect(garbage.status?.code).toBe(13);
    expect(garbage.status?.message).toMatch(/^grpc: error unmarshalling request: /); // the tail is each decoder's own
    expect((await c.call({ path: RANGE, chunks: [] })).status).toEqual({ code: 2, message: 'EOF' });
    const badTimeout = await c.call({ path: RANGE, chunks: [rangeReq('a')], headers: { 'grpc-timeout': '1x' } });
    expect([badTimeout.status, badTimeout.rstCode]).toEqual([undefined, http2.constants.NGHTTP2_PROTOCOL_ERROR]);
    const badType = await c.call({ path: RANGE, chunks: [rangeReq('a')], headers: { 'content-type': 'text/plain' } });
    expect([badType.status, badType.rstCode]).toEqual([undefined, http2.constants.NGHTTP2_PROTOCOL_ERROR]);
    expect((await c.call({ path: RANGE, chunks: [rangeReq('still fine')] })).status?.code).toBe(0);
  });

  it('flow control both ways: 1.5 MiB puts, and a 6 MiB range response to a raw client and to etcdctl', async () => {
    // Just under --max-request-bytes (1.5 MiB) with the key and the protobuf overhead.
    const value = (i: number): Buffer => Buffer.alloc((3 << 19) - 64, 97 + i);
    const c = client();
    for (let i = 0; i < 3; i++) {
      expect((await c.call({ path: '/etcdserverpb.KV/Put', chunks: [putReq(`big/${i}`, value(i))] })).status?.code).toBe(0);
    }
    // etcdctl (grpc-go) sends its value from stdin; the fourth key.
    const port = Number(m.endpoint.split(':').pop());
    const put = await etcdctl(port, ['put', 'big/3'], value(3).toString());
    expect(put.stdout.trim()).toBe('OK');
    const r = await c.call({ path: RANGE, chunks: [frame(messageCodec('etcdserverpb.RangeRequest').encode({ key: Buffer.from('big/'), rangeEnd: Buffer.from('big0') } as never))] });
    expect(r.status?.code).toBe(0);
    const kvs = rangeRes.decode(r.messages[0]!).kvs;
    expect(kvs.map((kv) => [kv.key.toString(), kv.value.length, kv.value[0]])).toEqual([0, 1, 2, 3].map((i) => [`big/${i}`, (3 << 19) - 64, 97 + i]));
    const get = await etcdctl(port, ['get', '--prefix', 'big/', '--print-value-only'], '', 30_000);
    expect(get.stderr).toBe('');
    expect(get.code).toBe(0);
    expect(get.stdout.split('\n').filter((l) => l.length > 0).map((l) => [l.length, l[0]])).toEqual([0, 1, 2, 3].map((i) => [(3 << 19) - 64, String.fromCharCode(97 + i)]));
  });

  it('a Watch past its grpc-timeout ends with "context deadline exceeded"', async () => {
    const c = client();
    const t0 = Date.now();
    const r = await c.call({ path: '/etcdserverpb.Watch/Watch', chunks: [watchCreate('w')], keepOpen: true, headers: { 'grpc-timeout': '300m' } });
    const took = Date.now() - t0;
    expect(r.messages).toHaveLength(1); // created
    // etcd answers UNKNOWN (its Watch handler returns the context's error) or
    // DEADLINE_EXCEEDED (grpc-go's own deadline), whichever comes first — both
    // seen in recorded runs. Ours ends every call past its deadline with
    // DEADLINE_EXCEEDED, the code etcd gives its unary calls too.
    expect(r.status?.message).toBe('context deadline exceeded');
    expect(impl === 'etcd' ? [2, 4] : [4]).toContain(r.status?.code);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3_000);
  });

  it('a client that resets its Watch stream: the server lets the stream go', async () => {
    const before = await watchStreams(m);
    const c = client();
    const { stream, reply } = c.open({ path: '/etcdserverpb.Watch/Watch', chunks: [watchCreate('x')], keepOpen: true });
    await new Promise((r) => stream.once('data', r));
    expect(await watchStreams(m)).toBe(before + 1);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await reply;
    const end = Date.now() + 3_000;
    while ((await watchStreams(m)) !== before && Date.now() < end) await sleep(20);
    expect(await watchStreams(m)).toBe(before);
  });

  it('rapid reset (CVE-2023-44487): a client resetting 3,000 calls at once; the member goes on serving', async () => {
    const c = client();
    await c.connected();
    const replies: Promise<unknown>[] = [];
    for (let i = 0; i < 3000 && !c.session.destroyed && c.goaway === undefined; i++) {
      const { stream, reply } = c.open({ path: RANGE, chunks: [rangeReq('rr')] });
      stream.close(http2.constants.NGHTTP2_CANCEL);
      replies.push(reply);
    }
    await Promise.all(replies);
    const end = Date.now() + 3_000;
    while (c.goaway === undefined && !c.session.closed && Date.now() < end) await sleep(20);
    if (impl === 'etcd-ts') {
      // Node's own HTTP/2 layer (nghttp2) limits a client's resets; ours keeps that limit (reset-budget.ts).
      expect(c.goaway).toEqual({ code: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, data: 'too many stream resets' });
    } else {
      expect(c.goaway).toEqual(ETCD_AFTER_RAPID_RESET);
    }
    const fresh = await client().call({ path: RANGE, chunks: [rangeReq('rr')] });
    expect(fresh.status).toEqual({ code: 0, message: '' });
  });

  it('too many pings (default --grpc-keepalive-min-time 5s): GOAWAY ENHANCE_YOUR_CALM "too_many_pings", with a call open or not', async () => {
    for (const open of [true, false]) {
      const c = client();
      if (open) {
        // Data from the server forgives the next ping: let the created answer come first.
        const { stream } = c.open({ path: '/etcdserverpb.Watch/Watch', chunks: [watchCreate('p')], keepOpen: true });
        await new Promise((r) => stream.once('data', r));
      }
      const acks: string[] = [];
      for (let i = 0; i < 5; i++) acks.push(await c.ping().then(() => 'ack', () => 'failed'));
      expect(acks, `call open: ${open}`).toEqual(['ack', 'ack', 'ack', 'ack', 'failed']);
      expect(await c.goawayReceived).toEqual({ code: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, data: 'too_many_pings' });
    }
  });
});
