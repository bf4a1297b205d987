import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientListener, listenClients } from '../../src/server/client-listener.js';
import { GrpcServer } from '../../src/server/grpc/server.js';

let listeners: ClientListener[] = [];
let grpcServer: GrpcServer | undefined;

afterEach(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  listeners = [];
  await grpcServer?.close(0);
  grpcServer = undefined;
});

async function listen(opts: { firstBytesTimeoutMs?: number; firstRequestTimeoutMs?: number }): Promise<number> {
  grpcServer = new GrpcServer({ maxReceiveBytes: 1 << 20 });
  listeners = await (listenClients as (...a: unknown[]) => Promise<ClientListener[]>)(
    [new URL('http://127.0.0.1:0')],
    grpcServer,
    (_req: unknown, res: { end(s: string): void }) => res.end('ok'),
    opts,
  );
  return Number(listeners[0]!.address.split(':').pop());
}

/** Connects, writes `bytes`, and resolves with how long the server took to close the socket (or -1). */
function closedAfter(port: number, bytes: Buffer, maxMs: number): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.resume();
    let t0 = 0;
    const giveUp = setTimeout(() => {
      s.destroy();
      resolve(-1);
    }, maxMs);
    s.on('connect', () => {
      t0 = Date.now();
      s.write(bytes);
    });
    s.on('close', () => {
      clearTimeout(giveUp);
      resolve(Date.now() - t0);
    });
  });
}

describe('client listener: connections that never say enough', () => {
  it('closes a connection that sends one byte and nothing more', async () => {
    const port = await listen({ firstBytesTimeoutMs: 150 });
    const ms = await closedAfter(port, Buffer.from('P'), 3_000);
    expect(ms).toBeGreaterThanOrEqual(100);
    expect(ms).toBeLessThan(1_500);
  });

  it('closes an HTTP/2 connection whose preface never completes', async () => {
    const port = await listen({ firstBytesTimeoutMs: 150, firstRequestTimeoutMs: 200 });
    const ms = await closedAfter(port, Buffer.from('PRI * HTTP'), 5_000);
    expect(ms).toBeGreaterThanOrEqual(100);
    expect(ms).toBeLessThan(1_500);
  });

  it('closes an HTTP connection that never completes its first request', async () => {
    const port = await listen({ firstBytesTimeoutMs: 150, firstRequestTimeoutMs: 200 });
    const ms = await closedAfter(port, Buffer.from('GET /health HTTP/1.1\r\n'), 5_000);
    expect(ms).toBeGreaterThanOrEqual(100);
    expect(ms).toBeLessThan(1_500);
  });
});
