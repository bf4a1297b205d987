// Starts and stops real member processes for e2e tests — bin/etcd-ts, or the real
// etcd for comparisons: free loopback ports, a temp data dir, a bounded wait for
// "ready to serve client requests" (pino and zap both log it as JSON on stderr), and
// a stop by PID (SIGTERM, then SIGKILL after a bound). A member can be killed and
// started again on the same ports and data dir.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../../..');
export const BIN = join(REPO, 'bin/etcd-ts');

/**
 * Where freePort looks: below the kernel's ephemeral range, so an outbound
 * connection (a client, a peer stream) can never take the port as its source port
 * between our check and the member's listen (CI saw EADDRINUSE on a client port
 * chosen from the ephemeral range); and one block per vitest worker slot
 * (VITEST_POOL_ID), so test files running side by side never pick the same port.
 */
function portBlock(): { lo: number; hi: number } {
  let ephemeralLo = 32768;
  try {
    ephemeralLo = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLo;
  } catch {
    // not Linux: keep the IANA default
  }
  const bottom = 10_000;
  const top = Math.max(bottom + 1_600, Math.min(ephemeralLo, 65_536)) - 1;
  const slots = 16;
  const size = Math.floor((top - bottom + 1) / slots);
  const slot = (Number(process.env.VITEST_POOL_ID ?? 1) - 1 + slots) % slots;
  return { lo: bottom + slot * size, hi: bottom + (slot + 1) * size - 1 };
}

const block = portBlock();
/** The next candidate in this process's walk through its block (random start: files reuse the slot one after another). */
let cursor = block.lo + Math.floor(Math.random() * (block.hi - block.lo + 1));
/** Ports freePort has handed out in this process: never twice. */
const handedOut = new Set<number>();
/**
 * Ports the Fetch standard blocks ("bad ports"): Node's fetch refuses them with
 * "fetch failed", and the tests fetch from members (failpoints, /v3, /metrics).
 * Of that list, only 10080 lies in the blocks above.
 */
const FETCH_BLOCKED = new Set([10_080]);

function canListen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** A loopback port nobody listens on now, from this worker's block, never one handed out before. */
export async function freePort(): Promise<number> {
  const span = block.hi - block.lo + 1;
  for (let tried = 0; tried < span; tried++) {
    const port = cursor;
    cursor = cursor >= block.hi ? block.lo : cursor + 1;
    if (handedOut.has(port) || FETCH_BLOCKED.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`freePort: no free port left in ${block.lo}-${block.hi}`);
}

export interface MemberOptions {
  /** 'etcd-ts' (bin/etcd-ts) or 'etcd' (the real one on PATH). */
  impl?: 'etcd-ts' | 'etcd';
  name?: string;
  dataDir?: string;
  extraArgs?: string[];
  startTimeoutMs?: number;
  /** Fixed ports (a cluster needs every member's ports before any starts); free ones otherwise. */
  clientPort?: number;
  peerPort?: number;
  /** --initial-cluster value; defaults to this member alone (`<name>=<peer url>`). */
  initialCluster?: string;
  /**
   * Environment for the process (say, the ETCD_* lines `etcdctl member add` prints):
   * --name, --initial-cluster and --initial-advertise-peer-urls are then left to it.
   */
  env?: Record<string, string>;
  /** https: the client (or peer) URLs are https:// (the TLS flags go in extraArgs). */
  clientScheme?: 'http' | 'https';
  peerScheme?: 'http' | 'https';
  /** The peer port other members dial, when it is not the one the member listens on (a proxy in front of it). */
  advertisedPeerPort?: number;
  /** Variables added to the process environment, without the meaning of `env` (failpoints, say). */
  extraEnv?: Record<string, string>;
}

export class Member {
  proc: ChildProcess | undefined;
  /** Everything the current process wrote to stderr and stdout (for failure messages). */
  stderr = '';
  readonly name: string;
  /** Between pause() and resume(). */
  private paused = false;

  private constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
    private readonly opts: MemberOptions,
  ) {
    this.name = opts.name ?? 'm1';
  }

  static async create(opts: MemberOptions = {}): Promise<Member> {
    const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'etcd-ts-e2e-')));
    return new Member(dataDir, opts.clientPort ?? (await freePort()), opts.peerPort ?? (await freePort()), opts);
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  get clientUrl(): string {
    return `${this.opts.clientScheme ?? 'http'}://127.0.0.1:${this.clientPort}`;
  }

  get peerUrl(): string {
    return `${this.opts.peerScheme ?? 'http'}://127.0.0.1:${this.peerPort}`;
  }

  /** The peer URL the cluster knows this member by (a proxy's, when one stands in front of it). */
  get advertisedPeerUrl(): string {
    return `${this.opts.peerScheme ?? 'http'}://127.0.0.1:${this.opts.advertisedPeerPort ?? this.peerPort}`;
  }

  /** The current process id, while it runs. */
  get pid(): number | undefined {
    return this.running ? this.proc!.pid : undefined;
  }

  /** True while the current process has not exited. */
  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  args(): string[] {
    const client = this.clientUrl;
    const peer = this.peerUrl;
    const advertisedPeer = this.advertisedPeerUrl;
    const fromEnv = this.opts.env !== undefined;
    return [
      ...(fromEnv ? [] : ['--name', this.name]),
      '--data-dir', this.dataDir,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      ...(fromEnv ? [] : ['--initial-advertise-peer-urls', advertisedPeer, '--initial-cluster', this.opts.initialCluster ?? `${this.name}=${advertisedPeer}`]),
      ...(this.opts.extraArgs ?? []),
    ];
  }

  /** The flags after the standard ones, for the next start (a restart with other keys, say). */
  setExtraArgs(args: string[]): void {
    this.opts.extraArgs = args;
  }

  /** Spawns the process and resolves once it serves clients; rejects if it exits first. */
  async start(): Promise<void> {
    const timeoutMs = this.opts.startTimeoutMs ?? 20_000;
    this.stderr = '';
    this.paused = false;
    const env = { ...process.env, ...(this.opts.env ?? {}), ...(this.opts.extraEnv ?? {}) };
    const proc =
      this.opts.impl === 'etcd'
        ? spawn('etcd', this.args(), { stdio: ['ignore', 'pipe', 'pipe'], env })
        : spawn(BIN, this.args(), { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO, env });
    this.proc = proc;
    proc.stdout!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    const ready = new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`member did not become ready in ${timeoutMs} ms:\n${this.stderr}`)), timeoutMs);
      proc.stderr!.on('data', (b: Buffer) => {
        this.stderr += b.toString();
        if (this.stderr.includes('ready to serve client requests')) {
          clearTimeout(timer);
          res();
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        rej(new Error(`member exited (code ${code}, signal ${signal}) before ready:\n${this.stderr}`));
      });
    });
    try {
      await ready;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  log(): string {
    return this.stderr;
  }

  /**
   * SIGSTOP: the process keeps its sockets and files but runs nothing (what peers
   * send it waits in its socket buffers) until resume().
   */
  pause(): void {
    if (!this.running) return;
    this.proc!.kill('SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT after pause(). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.running) this.proc!.kill('SIGCONT');
  }

  /** kill -9: no chance to flush anything. */
  async kill9(): Promise<void> {
    await this.signalAndWait('SIGKILL', 10_000);
  }

  /** SIGTERM, then SIGKILL if it has not exited within the bound. Returns the exit code. */
  async stop(boundMs = 10_000): Promise<number | null> {
    this.resume(); // a stopped process would not act on SIGTERM
    const code = await this.signalAndWait('SIGTERM', boundMs);
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) await this.signalAndWait('SIGKILL', boundMs);
    return code;
  }

  private signalAndWait(signal: NodeJS.Signals, boundMs: number): Promise<number | null> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc?.exitCode ?? null);
    return new Promise((res) => {
      const timer = setTimeout(() => res(null), boundMs);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        res(code);
      });
      proc.kill(signal);
    });
  }

  /** Stops the process (see stop) and removes the data dir; returns the exit code. */
  async cleanup(): Promise<number | null> {
    try {
      return await this.stop();
    } finally {
      await rm(this.dataDir, { recursive: true, force: true });
    }
  }
}
