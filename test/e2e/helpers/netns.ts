// A network namespace of its own for a DNS test: `ip netns add` with loopback up,
// /etc/netns/<name>/resolv.conf naming a dnsmasq that runs inside it on
// 127.0.0.1:53, and processes started with `ip netns exec` (which bind-mounts
// that resolv.conf over /etc/resolv.conf for them), so members resolve through
// the test's records while the machine's own resolver is untouched. Every name
// is unique per run; cleanup() stops what was started by PID and removes the
// namespace and its files.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IN_CI, onPath } from './etcd-process.js';

/** True when namespaces and dnsmasq can be used here; in CI a missing tool is an error. */
export function requireNetnsTools(): boolean {
  const missing = ['ip', 'dnsmasq'].filter((t) => !onPath(t) && !existsSync(`/usr/sbin/${t}`));
  const root = process.getuid?.() === 0;
  if (missing.length === 0 && root) return true;
  const why = `${missing.length ? `missing ${missing.join(', ')} (Debian: iproute2, dnsmasq-base)` : ''}${root ? '' : ' not root (ip netns needs it)'}`;
  if (IN_CI) throw new Error(`the DNS SRV e2e tests need network namespaces and dnsmasq: ${why}`);
  return false;
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A process inside the namespace: output collected, waits bounded, stopped by PID. */
export class NsProcess {
  out = '';
  readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (this.out += b.toString()));
    this.exited = new Promise((res) => proc.once('exit', (code) => res(code)));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves once the output contains `text`; rejects if the process exits first or after `ms`. */
  async waitFor(text: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.out.includes(text)) {
      if (!this.running) throw new Error(`exited (${this.proc.exitCode}) before "${text}":\n${this.out}`);
      if (Date.now() > deadline) throw new Error(`no "${text}" within ${ms} ms:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The exit code, or null if it did not exit within `ms` (then it is killed). */
  async exitWithin(ms: number): Promise<number | null> {
    const t = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms));
    const r = await Promise.race([this.exited, t]);
    if (r === 'timeout') {
      await this.stop();
      return null;
    }
    return r;
  }

  /** SIGTERM, then SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<Result> {
  return new Promise((res) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

async function must(cmd: string, args: string[]): Promise<void> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
}

export class NetNs {
  private readonly procs: NsProcess[] = [];

  private constructor(
    readonly name: string,
    /** A temp dir for dnsmasq's config and the members' data dirs. */
    readonly dir: string,
  ) {}

  /** A namespace named `<prefix>-<pid>-<random>` with loopback up. */
  static async create(prefix: string): Promise<NetNs> {
    const name = `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const dir = await mkdtemp(join(tmpdir(), `${name}-`));
    await must('ip', ['netns', 'add', name]);
    const ns = new NetNs(name, dir);
    try {
      await must('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
      mkdirSync(ns.etcDir, { recursive: true });
      writeFileSync(join(ns.etcDir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
    } catch (err) {
      await ns.cleanup();
      throw err;
    }
    return ns;
  }

  /** /etc/netns/<name>: what `ip netns exec` mounts over /etc. */
  get etcDir(): string {
    return `/etc/netns/${this.name}`;
  }

  /** Starts `cmd args` inside the namespace. */
  spawn(cmd: string, args: string[], env: Record<string, string> = {}): NsProcess {
    const proc = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const p = new NsProcess(proc);
    this.procs.push(p);
    return p;
  }

  /** Runs `cmd args` inside the namespace to completion (bounded). */
  exec(cmd: string, args: string[], timeoutMs = 20_000): Promise<Result> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], timeoutMs);
  }

  /** dnsmasq on 127.0.0.1:53 inside the namespace, answering only from `lines` (dnsmasq.conf syntax). */
  async startDnsmasq(lines: string[]): Promise<void> {
    const conf = join(this.dir, 'dnsmasq.conf');
    writeFileSync(conf, ['no-resolv', 'no-hosts', 'no-poll', 'listen-address=127.0.0.1', 'bind-interfaces', ...lines, ''].join('\n'));
    const bin = existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq';
    const p = this.spawn(bin, ['--keep-in-foreground', `--conf-file=${conf}`, '--user=root', '--log-facility=-', '--log-queries']);
    await p.waitFor('started, version', 10_000);
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    await run('ip', ['netns', 'del', this.name]);
    rmSync(this.etcDir, { recursive: true, force: true });
    await rm(this.dir, { recursive: true, force: true });
  }
}
