// Standalone mode's backing store: one etcd-ts member in a child process (this
// same build's main.js, so the member is exactly what `bin/etcd-ts` runs) on
// loopback ports with --enable-v2, data in --data-dir. A child rather than
// in-process: the member keeps its own event loop and heap, and its start/stop
// path stays the one every member uses. Its logs go to our stderr.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../server/logger.js';

export interface EmbeddedMemberOptions {
  dataDir: string;
  logLevel: string;
  logger: Logger;
  /** Bound on the wait for the member to serve /v2/keys. */
  readyTimeoutMs?: number;
}

/** A loopback port the kernel has just handed out (bound, then released). */
function loopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function servesV2(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/v2/keys/`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

class PortTakenError extends Error {}

export class EmbeddedMember {
  private exited: Promise<number | null>;

  private constructor(
    private readonly proc: ChildProcess,
    readonly clientUrl: string,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  /**
   * Starts the member and resolves once it answers on /v2/keys; rejects if the
   * bound passes first. A member that exits before serving because a port was
   * taken (EADDRINUSE in its log) is started again on new ports (twice at most):
   * a port the kernel handed out can be taken by someone else before it binds. (A single member does not mind a
   * peer URL that differs from the one its data dir recorded.)
   */
  static async start(opts: EmbeddedMemberOptions): Promise<EmbeddedMember> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await EmbeddedMember.attempt(opts);
      } catch (err) {
        if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
        opts.logger.warn({ err: err.message, attempt }, 'embedded member failed to start; trying again on other ports');
      }
    }
  }

  private static async attempt(opts: EmbeddedMemberOptions): Promise<EmbeddedMember> {
    const [clientPort, peerPort] = [await loopbackPort(), await loopbackPort()];
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const main = fileURLToPath(new URL('../main.js', import.meta.url));
    const args = [
      ...process.execArgv, main,
      '--name', 'discovery',
      '--data-dir', opts.dataDir,
      '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `discovery=${peerUrl}`,
      '--enable-v2',
      // Every token, /health call and collection adds revisions: without compaction
      // the store would grow until its quota. A day of history is far more than
      // etcd's v2 store keeps for waitIndex (its last 1000 events).
      '--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '24h',
      '--log-level', opts.logLevel,
    ];
    // Our ETCD_* variables are meant for members we join, not for this one.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'], env });
    // Its log goes on to our stderr; a port taken under us is worth another try.
    let portTaken = false;
    proc.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      if (chunk.includes('EADDRINUSE')) portTaken = true;
    });
    const member = new EmbeddedMember(proc, clientUrl);
    opts.logger.info({ pid: proc.pid, 'data-dir': opts.dataDir, 'client-url': clientUrl }, 'starting embedded etcd-ts member');
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    let exitCode: number | null | undefined;
    void member.exited.then((c) => (exitCode = c));
    while (!(await servesV2(clientUrl))) {
      if (exitCode !== undefined) {
        const why = `embedded member exited (code ${exitCode}) before serving`;
        throw portTaken ? new PortTakenError(why) : new Error(why);
      }
      if (Date.now() > deadline) {
        await member.stop();
        throw new Error(`embedded member did not serve ${clientUrl}/v2/keys within ${opts.readyTimeoutMs ?? 60_000} ms`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return member;
  }

  /** Resolves with the exit code when the member process ends (for whatever reason). */
  whenExited(): Promise<number | null> {
    return this.exited;
  }

  /** SIGTERM (the member flushes and closes its stores), SIGKILL after the bound. */
  async stop(boundMs = 10_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), boundMs);
    await this.exited;
    clearTimeout(timer);
  }
}
