// The gateway's HTTP side over fake handlers on a loopback server: what a
// handler sees of the call (metadata, cancellation, pause/resume of a bidi
// stream), how answers, errors and streams are written, and that without the
// gateway (--enable-grpc-gateway=false) /v3 paths are plain 404s.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RpcRoutes } from '../../src/server/api/gateway/gateway.js';
import { httpHandler } from '../../src/server/api/http.js';
import { apiServices } from '../../src/server/api/services.js';
import { parseArgs } from '../../src/server/config.js';
import { Status, statusError } from '../../src/server/grpc/status.js';
import type { Handler, MethodDefinition, StreamCall, UnaryCall, UnaryCallback } from '../../src/server/grpc/types.js';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A loopback server whose gateway routes every method to `handlers[path]` (Unimplemented otherwise). */
async function serve(handlers: Record<string, Handler>, withGateway = true): Promise<number> {
  const all: MethodDefinition[] = Object.values(apiServices()).flatMap((svc: Record<string, MethodDefinition>) => Object.values(svc));
  const methods = new Map(all.map((m) => [m.path, m]));
  const routes: RpcRoutes = {
    route: (path) => {
      const method = methods.get(path);
      const handler = handlers[path];
      return method !== undefined && handler !== undefined ? { method, handler } : undefined;
    },
  };
  const api = {
    health: { leader: 1n, range: async () => ({}), activeAlarms: () => [] },
    metrics: { scrapeMetrics: async () => ({ body: '', contentType: 'text/plain' }) },
  };
  const handler = httpHandler(api, withGateway ? { gateway: { routes, maxReceiveBytes: 1 << 20 } } : {});
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function post(port: number, path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const RANGE = '/etcdserverpb.KV/Range';

describe('unary calls', () => {
  it('the handler gets the decoded request and the token; the answer is JSON', async () => {
    let seen: { key?: Buffer; limit?: bigint; authorization?: string[]; token?: string[]; peer?: string; socket?: object } = {};
    const port = await serve({
      [RANGE]: ((call: UnaryCall<{ key: Buffer; limit: bigint }>, cb: UnaryCallback<unknown>) => {
        seen = {
          key: call.request.key,
          limit: call.request.limit,
          authorization: call.metadata.get('authorization'),
          token: call.metadata.get('token'),
          peer: call.getPeer(),
          socket: (call as unknown as { connectionSocket(): object | undefined }).connectionSocket(),
        };
        cb(null, { header: { revision: 5n }, count: 1n });
      }) as Handler,
    });
    const r = await post(port, '/v3beta/kv/range', '{"key":"YQ==","limit":"3"}', { Authorization: 'tok.1', 'Grpc-Metadata-Token': 'other', Token: 'ignored' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"header":{"revision":"5"},"count":"1"}');
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('grpc-metadata-content-type')).toBe('application/grpc');
    expect(seen).toMatchObject({ key: Buffer.from('a'), limit: 3n, authorization: ['tok.1'], token: ['other'], socket: undefined });
    expect(seen.peer).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("errors: the call's status mapped to HTTP, a thrown handler as Unknown, Unimplemented for a method without handler", async () => {
    const port = await serve({
      [RANGE]: ((_c: unknown, cb: UnaryCallback<unknown>) => cb(statusError(Status.NOT_FOUND, 'etcdserver: requested lease not found'))) as Handler,
      '/etcdserverpb.KV/Put': (() => {
        throw new Error('boom');
      }) as Handler,
    });
    const r = await post(port, '/v3/kv/range', '{}');
    expect([r.status, r.text]).toEqual([404, '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}']);
    expect(r.headers.get('trailer')).toBe('Grpc-Trailer-Content-Type');
    expect(await post(port, '/v3/kv/put', '{}').then((x) => [x.status, x.text])).toEqual([500, '{"error":"boom","message":"boom","code":2}']);
    expect((await post(port, '/v3/kv/txn', '{}')).status).toBe(501);
    expect(await post(port, '/v3/kv/range', '{"key":').then((x) => [x.status, x.text])).toEqual([400, '{"error":"unexpected EOF","message":"unexpected EOF","code":3}']);
    expect(await post(port, '/v3/kv/nope', '{}').then((x) => [x.status, x.text])).toEqual([404, 'Not Found\n']);
    const get = await fetch(`http://127.0.0.1:${port}/v3/kv/range`);
    expect([get.status, await get.text()]).toEqual([405, 'Method Not Allowed\n']);
  });

  it('a request larger than the gRPC limit is refused as gRPC refuses it', async () => {
    const port = await serve({ [RANGE]: ((_c: unknown, cb: UnaryCallback<unknown>) => cb(null, {})) as Handler });
    const big = Buffer.alloc((1 << 20) + 10).toString('base64');
    const r = await post(port, '/v3/kv/range', `{"key":"${big}"}`);
    expect(r.status).toBe(429);
    expect(JSON.parse(r.text)).toMatchObject({ code: 8, error: expect.stringMatching(/^grpc: received message larger than max \(\d+ vs\. 1048576\)$/) });
  });

  it('without the gateway (--enable-grpc-gateway=false) /v3 paths are 404 like any unknown path', async () => {
    const port = await serve({ [RANGE]: ((_c: unknown, cb: UnaryCallback<unknown>) => cb(null, {})) as Handler }, false);
    expect(await post(port, '/v3/kv/range', '{}').then((x) => [x.status, x.text])).toEqual([404, '404 page not found\n']);
    const on = parseArgs([]);
    const off = parseArgs(['--enable-grpc-gateway=false']);
    expect(on.kind === 'run' && on.config.enableGrpcGateway).toBe(true);
    expect(off.kind === 'run' && off.config.enableGrpcGateway).toBe(false);
  });
});

describe('streams', () => {
  it('server streaming: {"result"} lines, then an error object; an error before any message sets the status', async () => {
    let fail = false;
    const port = await serve({
      '/etcdserverpb.Maintenance/Snapshot': ((call: StreamCall<unknown, unknown>) => {
        if (fail) return call.fail(statusError(Status.PERMISSION_DENIED, 'etcdserver: permission denied'));
        call.write({ remainingBytes: 3n, blob: Buffer.from('ab') });
        call.write({ blob: Buffer.from('c') });
        call.fail(statusError(Status.UNAVAILABLE, 'etcdserver: no leader'));
      }) as Handler,
    });
    const r = await post(port, '/v3/maintenance/snapshot', '{}');
    expect(r.status).toBe(200);
    expect(r.text).toBe(
      '{"result":{"remaining_bytes":"3","blob":"YWI="}}\n{"result":{"blob":"Yw=="}}\n' +
        '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}',
    );
    fail = true;
    const f = await post(port, '/v3/maintenance/snapshot', '{}');
    expect([f.status, f.text]).toEqual([403, '{"error":{"grpc_code":7,"http_code":403,"message":"etcdserver: permission denied","http_status":"Forbidden"}}']);
  });

  it('bidi: requests in order across pause/resume, end after the last; framed writes become lines', async () => {
    const got: unknown[] = [];
    const port = await serve({
      '/etcdserverpb.Lease/LeaseKeepAlive': ((call: StreamCall<{ ID: bigint }, unknown>) => {
        call.on('data', (req) => {
          got.push(req.ID);
          if (req.ID === 1n) {
            call.pause();
            setTimeout(() => call.resume(), 50);
          }
          const framed = apiServices().Lease.LeaseKeepAlive!.encodeResponse({ ID: req.ID, TTL: 5n });
          call.writeFramed(Buffer.concat([framed, framed]));
        });
        call.on('end', () => {
          got.push('end');
          call.end();
        });
      }) as Handler,
    });
    const r = await post(port, '/v3/lease/keepalive', '{"ID":1}{"ID":"2"} {"ID":3}');
    expect(got).toEqual([1n, 2n, 3n, 'end']);
    expect(r.text.split('\n')).toEqual([
      ...[1, 1, 2, 2, 3, 3].map((id) => `{"result":{"ID":"${id}","TTL":"5"}}`),
      '',
    ]);
    // A bad first request fails the call before it starts (Unknown); a later one ends the requests.
    got.length = 0;
    expect(await post(port, '/v3/lease/keepalive', '{"ID":true}').then((x) => [x.status, x.text])).toEqual([
      500,
      '{"error":"json: cannot unmarshal bool into Go value of type int64","message":"json: cannot unmarshal bool into Go value of type int64","code":2}',
    ]);
    await post(port, '/v3/lease/keepalive', '{"ID":4} x {"ID":5}');
    expect(got).toEqual([4n, 'end']);
  });

  it('a client that goes away cancels the call', async () => {
    let resolveClosed: (v: string[]) => void;
    const closed = new Promise<string[]>((r) => (resolveClosed = r));
    const port = await serve({
      '/etcdserverpb.Watch/Watch': ((call: StreamCall<unknown, unknown>) => {
        const events: string[] = [];
        call.on('data', () => call.write({ created: true }));
        call.on('cancelled', () => events.push('cancelled'));
        call.on('close', () => resolveClosed([...events, 'close', String(call.cancelled)]));
      }) as Handler,
    });
    const req = http.request({ host: '127.0.0.1', port, path: '/v3/watch', method: 'POST' });
    req.on('error', () => {});
    req.write('{"create_request":{"key":"YQ=="}}');
    const res = await new Promise<http.IncomingMessage>((r) => req.on('response', r));
    const first = await new Promise<string>((r) => res.once('data', (c: Buffer) => r(c.toString())));
    expect(first).toBe('{"result":{"created":true}}\n');
    req.destroy();
    expect(await closed).toEqual(['cancelled', 'close', 'true']);
  });
});
