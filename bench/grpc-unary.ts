// The client port's gRPC server alone, ours (src/server/grpc) against
// @grpc/grpc-js's, on unary KV.Put calls whose handler answers at once: no Raft,
// no storage, so the difference is the transport's CPU per call. The server
// runs in a child process (its CPU is read there, around the measured window);
// the load comes from this process through bench/load's light HTTP/2 client.
// Rounds alternate ours / grpc-js; --impls picks others: "ours" is our gRPC
// server on Node's HTTP/2, "own-h2" the same on our own HTTP/2 layer (src/server/h2).
//
//   node dist/bench/grpc-unary.js [--total 40000] [--clients 64] [--conns 4] [--rounds 3] [--impls ours,own-h2]

import * as grpc from '@grpc/grpc-js';
import { fork } from 'node:child_process';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { apiServices } from '../src/server/api/services.js';
import { GrpcServer } from '../src/server/grpc/server.js';
import type { UnaryCallback } from '../src/server/grpc/types.js';
import { H2Pool } from './load/h2.js';

type Impl = 'ours' | 'own-h2' | 'grpc-js';
const PUT_RESPONSE = { header: { clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n } };

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
}

/** Child: serves KV.Put on a free port; answers 'cpu' with its CPU time (µs). */
async function serve(impl: Impl): Promise<void> {
  const kv = apiServices().KV;
  const put = (_call: unknown, cb: UnaryCallback<unknown>): void => cb(null, PUT_RESPONSE);
  let port: number;
  if (impl === 'ours' || impl === 'own-h2') {
    const server = new GrpcServer({ maxReceiveBytes: 2 << 20, h2: impl === 'own-h2' ? 'own' : 'node' });
    server.addService({ Put: kv.Put! }, { Put: put });
    const listener = net.createServer((s) => {
      s.setNoDelay(true);
      server.accept(s);
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    port = (listener.address() as net.AddressInfo).port;
  } else {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 2 << 20 });
    server.addService({ Put: kv.Put! } as unknown as grpc.ServiceDefinition, { Put: put as unknown as grpc.UntypedHandleCall });
    port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
  }
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpu: u.user + u.system });
    } else if (m === 'exit') process.exit(0);
  });
  process.send!({ port });
}

function ask<T>(child: ReturnType<typeof fork>, msg: string, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: Record<string, T>): void => {
      if (key in m) {
        child.off('message', on);
        resolve(m[key]!);
      }
    };
    child.on('message', on);
    if (msg) child.send(msg);
  });
}

async function round(impl: Impl, total: number, clients: number, conns: number): Promise<{ rps: number; cpuPerCall: number }> {
  // GRPC_BENCH_PROF=dir: the server writes a V8 CPU profile there (bench/profile-summary.ts reads it).
  const prof = process.env.GRPC_BENCH_PROF;
  const child = fork(fileURLToPath(import.meta.url), ['serve', impl], {
    execArgv: prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=server-${impl}-${Date.now()}.cpuprofile`] : [],
  });
  const port = await ask<number>(child, '', 'port');
  const pool = new H2Pool([`127.0.0.1:${port}`], conns);
  await pool.ready();
  const req = { key: Buffer.from('key-0001'), value: Buffer.alloc(256, 1) };
  const run = (n: number): Promise<void> => {
    let started = 0;
    let failed = 0;
    const worker = (c: number): Promise<void> =>
      new Promise((resolve) => {
        const put = pool.method(c, 'Put');
        const next = (): void => {
          if (started >= n) return resolve();
          started++;
          put(req, {}, (err) => {
            if (err) failed++;
            next();
          });
        };
        next();
      });
    return Promise.all(Array.from({ length: clients }, (_, c) => worker(c))).then(() => {
      if (failed) throw new Error(`${failed} calls failed`);
    });
  };
  await run(Math.min(5000, total)); // warm-up (JIT, connections)
  const cpu0 = await ask<number>(child, 'cpu', 'cpu');
  const t0 = performance.now();
  await run(total);
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = await ask<number>(child, 'cpu', 'cpu');
  pool.close();
  child.send('exit');
  return { rps: total / secs, cpuPerCall: (cpu1 - cpu0) / total };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'serve') return serve(process.argv[3] as Impl);
  const total = arg('total', 40_000);
  const clients = arg('clients', 64);
  const conns = arg('conns', 4);
  const rounds = arg('rounds', 3);
  for (let i = 1; i <= rounds; i++) {
    const i0 = process.argv.indexOf('--impls');
    const impls = (i0 < 0 ? 'ours,grpc-js' : process.argv[i0 + 1]!).split(',') as Impl[];
    for (const impl of impls) {
      const r = await round(impl, total, clients, conns);
      console.log(JSON.stringify({ round: i, impl, total, clients, conns, rps: Math.round(r.rps), serverCpuUsPerCall: Number(r.cpuPerCall.toFixed(1)) }));
    }
  }
}

void main();
