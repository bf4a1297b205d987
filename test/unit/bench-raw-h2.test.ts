// The load generator's raw HTTP/2 transport (bench/load/raw-h2.ts) against a
// node:http2 server standing in for a gRPC one (nghttp2 indexes headers in HPACK's
// dynamic table, as Go's server does): a call's status comes from its
// trailers, an error status and message reach the callback, a call past its
// deadline fails with DEADLINE_EXCEEDED, and a server that goes away fails the
// calls in flight instead of leaving them hanging.

import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawH2Pool } from '../../bench/load/raw-h2.js';
import type { UnaryFn } from '../../bench/load/pool.js';
import { HpackIndexingEncoder, type HeaderFields } from '../../bench/load/hpack-indexing.js';
import { HpackDecoder } from '../../src/server/h2/hpack-decoder.js';

let server: http2.Http2Server;
let endpoint = '';
const seen: { path: string; body: number; token: string | undefined }[] = [];

beforeAll(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const token = headers.token as string | undefined;
      seen.push({ path: String(headers[':path']), body: body.length, token });
      const key = body.subarray(5).toString('latin1');
      if (key.includes('slow')) return; // never answered: the deadline must end it
      if (key.includes('drop')) return stream.session?.destroy();
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => {
        if (key.includes('bad')) stream.sendTrailers({ 'grpc-status': '3', 'grpc-message': 'etcdserver: key is not provided' });
        else stream.sendTrailers({ 'grpc-status': '0' });
      });
      stream.end(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((res) => server.close(() => res())));

const call = (fn: UnaryFn, key: string, deadline?: number): Promise<{ code: number; details: string } | null> =>
  new Promise((resolve) => {
    fn({ key: Buffer.from(key), value: Buffer.from('v') }, deadline !== undefined ? { deadline } : {}, (err) =>
      resolve(err ? { code: err.code, details: err.details } : null),
    );
  });

describe('raw HTTP/2 transport', () => {
  it('completes calls from their trailers, many in flight on one connection, and passes gRPC errors on', async () => {
    const pool = new RawH2Pool([endpoint], 1);
    try {
      await pool.ready();
      pool.setToken(0, 'tok');
      const put = pool.method(0, 'Put');
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => call(put, `k${i}`)));
      expect(results.every((r) => r === null)).toBe(true);
      expect(seen.filter((s) => s.path === '/etcdserverpb.KV/Put' && s.token === 'tok').length).toBe(200);
      expect(await call(put, 'bad')).toEqual({ code: 3, details: 'etcdserver: key is not provided' });
      // The HPACK table the server built up still decodes after the error.
      expect(await call(put, 'k-after')).toBeNull();
    } finally {
      pool.close();
    }
  });

  it('fails a call past its deadline with DEADLINE_EXCEEDED, and the connection serves on', async () => {
    const pool = new RawH2Pool([endpoint], 1);
    try {
      await pool.ready();
      const put = pool.method(0, 'Put');
      expect(await call(put, 'slow', Date.now() + 50)).toEqual({ code: 4, details: 'context deadline exceeded' });
      expect(await call(put, 'k')).toBeNull();
    } finally {
      pool.close();
    }
  });

  it('fails the calls in flight when the server drops the connection, and later calls at once', async () => {
    const pool = new RawH2Pool([endpoint], 1);
    try {
      await pool.ready();
      const put = pool.method(0, 'Put');
      const pending = call(put, 'slow');
      const dropped = await call(put, 'drop');
      expect(dropped?.code).toBe(14);
      expect((await pending)?.code).toBe(14);
      expect((await call(put, 'k'))?.code).toBe(14);
    } finally {
      pool.close();
    }
  });

  it('refuses to connect within the timeout to a port nobody listens on', async () => {
    const pool = new RawH2Pool(['127.0.0.1:1'], 1);
    await expect(pool.ready(2_000)).rejects.toThrow(/connection 0 to 127.0.0.1:1/);
    pool.close();
  });
});

describe('the raw client\'s HPACK encoder (dynamic table)', () => {
  const put: HeaderFields = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', '/etcdserverpb.KV/Put'],
    [':authority', '127.0.0.1:2379'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ];
  const range: HeaderFields = [...put.slice(0, 2), [':path', '/etcdserverpb.KV/Range'], ...put.slice(3)];

  it('indexes fields on first use, then sends one-byte indexes that a decoder keeping the table resolves', () => {
    const enc = new HpackIndexingEncoder();
    const dec = new HpackDecoder();
    const first = enc.encode(put);
    const second = enc.encode(put);
    expect(second.length).toBe(put.length); // every field one byte: static or dynamic index
    expect(first.length).toBeGreaterThan(40);
    expect(dec.decode(first)).toEqual(put.map(([n, v]) => [n, v]));
    expect(dec.decode(second)).toEqual(put.map(([n, v]) => [n, v]));
    // Another method on the same connection: only its :path is new; the indexes
    // of the earlier entries move up by one, and the decoder agrees.
    const r1 = enc.encode(range);
    expect(dec.decode(r1)).toEqual(range.map(([n, v]) => [n, v]));
    expect(dec.decode(enc.encode(put))).toEqual(put.map(([n, v]) => [n, v]));
    expect(dec.decode(enc.encode(range))).toEqual(range.map(([n, v]) => [n, v]));
    expect(enc.encode(range)).toBe(enc.encode(range)); // reused while the table does not change
  });

  it('sends a field that would overflow the table as a literal without indexing', () => {
    const enc = new HpackIndexingEncoder(100);
    const dec = new HpackDecoder();
    const big: HeaderFields = [['token', 'x'.repeat(80)], [':path', '/etcdserverpb.KV/Put']];
    for (let i = 0; i < 3; i++) expect(dec.decode(enc.encode(big))).toEqual(big.map(([n, v]) => [n, v]));
    expect(enc.encode(big).length).toBeGreaterThan(80); // the token is sent in full every time
  });
});
