// Load generator for etcd v3 gRPC servers (ours or etcd itself).
//   npm run bench -- put --clients 16 --total 20000 --val-size 256 --key-space 10000
//   npm run bench -- range --clients 16 --consistency s --key-space 10000
//   npm run bench -- txn --clients 16
//   npm run bench -- watch --watchers 1000 --streams 10 --rate 200 --total 2000 --val-size 64
//   npm run bench -- lease-keepalive --leases 1000 --streams 10 --clients 100 --total 50000
//   npm run bench -- lease --clients 16 --total 10000      (grant, then revoke)
//   npm run bench -- compare     (bench/run-table.sh)   npm run bench -- keys-1m   (bench/run-million-keys.sh)
//   npm run bench -- check-perf  (bench/run-check-perf.sh: etcdctl check perf against both)
// Report on stdout, then one line of JSON; progress on stderr every second.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgError, USAGE, parseArgs, type BenchOptions } from './load/args.js';
import { authenticatePool } from './load/auth.js';
import { H2Pool } from './load/h2.js';
import { RawH2Pool } from './load/raw-h2.js';
import { formatLeaseGrantRevokeReport, formatLeaseKeepAliveReport, runLeaseGrantRevokeBench, runLeaseKeepAliveBench } from './load/lease.js';
import { KvPool, type KvTransport } from './load/pool.js';
import { formatReport, summarize } from './load/report.js';
import { runWorkload } from './load/runner.js';
import { formatWatchReport, runWatchBench, watchLatencyLines } from './load/watch.js';
import { makeWorkload } from './load/workloads.js';
import { clientTls } from './load/tls.js';

async function preload(pool: KvTransport, opts: BenchOptions): Promise<void> {
  const putOpts: BenchOptions = { ...opts, workload: 'put', sequentialKeys: true, total: opts.keySpace };
  const res = await runWorkload(pool, makeWorkload(putOpts), {
    clients: opts.clients,
    total: opts.keySpace,
    timeoutMs: opts.timeoutMs,
  });
  if (res.errors) throw new Error(`preload: ${res.errors} of ${opts.keySpace} puts failed: ${[...res.errorSamples.keys()][0]}`);
  process.stderr.write(`preloaded ${opts.keySpace} keys in ${res.durationSec.toFixed(2)} s\n`);
}

/** `compare`, `keys-1m` and `check-perf` run the shell drivers in bench/ (settings through the environment). */
const SCRIPTS: Record<string, string> = { compare: 'run-table.sh', 'keys-1m': 'run-million-keys.sh', 'check-perf': 'run-check-perf.sh' };

async function main(): Promise<number> {
  const script = SCRIPTS[process.argv[2] ?? ''];
  if (script !== undefined) {
    // dist/bench/cli.js -> the repository root.
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const r = spawnSync('bash', [join(root, 'bench', script), ...process.argv.slice(3)], { stdio: 'inherit' });
    return r.status ?? 1;
  }
  let opts: BenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof ArgError) {
      process.stderr.write(`bench: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (opts.workload === 'watch') {
    const summary = await runWatchBench(opts, (line) => {
      if (opts.progress) process.stderr.write(`${line}\n`);
    }, opts.latencyLog === '' ? undefined : (perPut) => {
      const lines = watchLatencyLines(perPut);
      writeFileSync(opts.latencyLog, lines.length ? `${lines.join('\n')}\n` : '');
    });
    process.stdout.write(`${formatWatchReport(summary)}\n\n${JSON.stringify(summary)}\n`);
    return summary.putErrors || summary.missingEvents ? 1 : 0;
  }
  if (opts.workload === 'lease') {
    const summary = await runLeaseGrantRevokeBench(opts, (line) => {
      if (opts.progress) process.stderr.write(`${line}\n`);
    });
    process.stdout.write(`${formatLeaseGrantRevokeReport(summary)}\n\n${JSON.stringify(summary)}\n`);
    return summary.errors ? 1 : 0;
  }
  if (opts.workload === 'lease-keepalive') {
    const summary = await runLeaseKeepAliveBench(opts, (line) => {
      if (opts.progress) process.stderr.write(`${line}\n`);
    });
    process.stdout.write(`${formatLeaseKeepAliveReport(summary)}\n\n${JSON.stringify(summary)}\n`);
    return summary.errors ? 1 : 0;
  }
  const tls = clientTls(opts);
  const pool: KvTransport =
    opts.transport === 'raw'
      ? new RawH2Pool(opts.endpoints, opts.conns)
      : opts.transport === 'h2'
        ? new H2Pool(opts.endpoints, opts.conns, tls)
        : new KvPool(opts.endpoints, opts.conns, tls);
  try {
    await pool.ready();
    if (opts.user !== '') await authenticatePool(pool, opts.user);
    if (opts.preload && opts.workload !== 'put') await preload(pool, opts);
    const workload = makeWorkload(opts);
    const res = await runWorkload(pool, workload, {
      clients: opts.clients,
      total: opts.total,
      timeoutMs: opts.timeoutMs,
      recordStarts: opts.latencyLog !== '',
      pace: opts.pace,
      onProgress: opts.progress
        ? (done, sec) => process.stderr.write(`[${sec.toFixed(0)}s] ${done}/${opts.total} completed\n`)
        : undefined,
    });
    const summary = summarize(opts, res);
    if (opts.latencyLog !== '' && res.starts) {
      const lat = res.recorder.inOrder();
      const lines: string[] = [];
      for (let i = 0; i < res.starts.length; i++) lines.push(`${res.starts[i]!.toFixed(3)} ${lat[i]!.toFixed(3)}`);
      writeFileSync(opts.latencyLog, lines.length ? `${lines.join('\n')}\n` : '');
    }
    process.stdout.write(`${formatReport(summary, res)}\n\n${JSON.stringify(summary)}\n`);
    return res.errors ? 1 : 0;
  } finally {
    pool.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
