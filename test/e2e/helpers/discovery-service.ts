// The discovery service (`bin/etcd-ts discovery`) as a real process for e2e tests:
// a free loopback port, standalone (an embedded member in a temp data dir) or on
// a backing cluster (--etcd), a bounded wait for "discovery serving", a stop by
// PID (SIGTERM, then SIGKILL after a bound). Plus discovery members: a real etcd
// or an etcd-ts member started with only --discovery and its own URLs.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, REPO, freePort, Member } from './member.js';

export interface DiscoveryServiceOptions {
  /** Backing cluster client URLs; none: standalone. */
  etcd?: string[];
  /** Standalone data dir (kept across restart()); a temp dir by default. */
  dataDir?: string;
  extraArgs?: string[];
  startTimeoutMs?: number;
}

export class DiscoveryService {
  proc: ChildProcess | undefined;
  stderr = '';

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly opts: DiscoveryServiceOptions,
  ) {}

  static async start(opts: DiscoveryServiceOptions = {}): Promise<DiscoveryService> {
    const dataDir = opts.dataDir ?? join(await mkdtemp(join(tmpdir(), 'etcd-ts-disc-')), 'discovery.etcd');
    const svc = new DiscoveryService(await freePort(), dataDir, opts);
    await svc.restart();
    return svc;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts the process (again, on the same port and data dir); resolves once it serves. */
  async restart(): Promise<void> {
    const args = ['discovery', '--addr', `127.0.0.1:${this.port}`, '--host', this.url, '--data-dir', this.dataDir];
    if (this.opts.etcd) args.push('--etcd', this.opts.etcd.join(','));
    args.push(...(this.opts.extraArgs ?? []));
    const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO });
    this.proc = proc;
    this.stderr = '';
    proc.stdout!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    const timeoutMs = this.opts.startTimeoutMs ?? 60_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`discovery service not serving in ${timeoutMs} ms:\n${this.stderr}`)), timeoutMs);
      proc.stderr!.on('data', (b: Buffer) => {
        this.stderr += b.toString();
        if (this.stderr.includes('"discovery serving"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`discovery service exited (code ${code}, signal ${signal}) before serving:\n${this.stderr}`));
      });
    }).catch(async (err: unknown) => {
      await this.stop();
      throw err;
    });
  }

  /** PIDs of the processes the service started (standalone: its embedded member). */
  childPids(): number[] {
    if (!this.pid) return [];
    try {
      return readFileSync(`/proc/${this.pid}/task/${this.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** PUT /new?size=N: the token URL. */
  async newToken(size = 3): Promise<string> {
    const r = await fetch(`${this.url}/new?size=${size}`, { method: 'PUT', signal: AbortSignal.timeout(10_000) });
    const body = await r.text();
    if (r.status !== 200) throw new Error(`/new answered ${r.status} ${body}`);
    return body;
  }

  /** SIGTERM, SIGKILL after the bound; the exit code (null if killed). */
  async stop(boundMs = 15_000): Promise<number | null> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), boundMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  /** stop(), then removes a temp data dir this helper made. */
  async cleanup(): Promise<number | null> {
    const code = await this.stop();
    if (!this.opts.dataDir) await rm(join(this.dataDir, '..'), { recursive: true, force: true });
    return code;
  }
}

/**
 * A member that bootstraps from a discovery URL: only its name, its own URLs and
 * --discovery (given as ETCD_* variables, so Member leaves out --initial-cluster).
 * Not started yet: members of one token must start together.
 */
export async function discoveryMember(impl: 'etcd' | 'etcd-ts', name: string, discoveryUrl: string, extraEnv: Record<string, string> = {}): Promise<Member> {
  const peerPort = await freePort();
  return Member.create({
    impl,
    name,
    peerPort,
    startTimeoutMs: 60_000,
    env: { ETCD_NAME: name, ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://127.0.0.1:${peerPort}`, ETCD_DISCOVERY: discoveryUrl, ...extraEnv },
  });
}
