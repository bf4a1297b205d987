// Shared e2e helpers: free loopback ports, a member process (ours or the real
// etcd) started and stopped by PID with bounded waits, etcdctl with a timeout.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const ETCD_TS_BIN = join(REPO_ROOT, 'bin/etcd-ts');

export function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch { /* keep looking */ }
  }
  return false;
}

export const HAVE_ETCDCTL = onPath('etcdctl');
export const HAVE_ETCD = onPath('etcd');
export const IN_CI = process.env.CI === 'true';

/**
 * Decides whether etcdctl-driven tests run: true when etcdctl is on PATH; when it
 * is missing, throws in CI (CI=true: the tests must not silently pass) and returns
 * false elsewhere (callers skip).
 */
export function requireEtcdctl(): boolean {
  if (HAVE_ETCDCTL) return true;
  if (IN_CI) throw new Error('etcdctl must be on PATH in CI (Debian package etcd-client, 3.4)');
  return false;
}

/** A free TCP port on 127.0.0.1 (bound then released; the OS does not hand it out again at once). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? res(port) : rej(new Error('no port'))));
    });
  });
}

export interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess;
  pid: number;
  /** Everything the process wrote to stderr and stdout so far (for failure messages). */
  log(): string;
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** 'etcd-ts' (bin/etcd-ts under node) or 'etcd' (the real one on PATH). */
  impl?: 'etcd-ts' | 'etcd';
  name?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

const READY = 'ready to serve client requests';

/** Starts one member on fresh loopback ports and a fresh temp data dir; resolves once it logs READY. */
export async function startMember(opts: StartOptions = {}): Promise<Member> {
  const impl = opts.impl ?? 'etcd-ts';
  const name = opts.name ?? 'x';
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `e2e-${impl}-`));
  const c = `http://127.0.0.1:${clientPort}`;
  const p = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', name, '--data-dir', dataDir,
    '--listen-client-urls', c, '--advertise-client-urls', c,
    '--listen-peer-urls', p, '--initial-advertise-peer-urls', p,
    '--initial-cluster', `${name}=${p}`,
    ...(opts.extraArgs ?? []),
  ];
  const proc = impl === 'etcd'
    ? spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [ETCD_TS_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
  let out = '';
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const ready = new Promise<void>((res, rej) => {
    let stderrBuf = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => {
      const s = d.toString();
      out += s;
      stderrBuf += s;
      // pino (ours) and zap (etcd) both write one JSON object per line on stderr.
      if (stderrBuf.includes(READY)) res();
    });
    void exited.then((code) => rej(new Error(`${impl} exited (code ${code}) before "${READY}":\n${out}`)));
  });
  const member: Member = {
    name, clientPort, peerPort, dataDir, proc, pid: proc.pid!, log: () => out, exited,
  };
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`${impl} not ready within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    await stopMember(member);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return member;
}

function waitExit(m: Member, ms: number): Promise<boolean> {
  if (m.proc.exitCode !== null || m.proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    void m.exited.then(() => { clearTimeout(t); res(true); });
  });
}

/** SIGTERM by PID, SIGKILL after `graceMs`, then removes the data dir. Returns the exit code (null if killed). */
export async function stopMember(m: Member | undefined, graceMs = 10_000): Promise<number | null | undefined> {
  if (!m) return undefined;
  try {
    if (m.proc.exitCode === null && m.proc.signalCode === null) {
      try { process.kill(m.pid, 'SIGTERM'); } catch { /* already gone */ }
      if (!(await waitExit(m, graceMs))) {
        try { process.kill(m.pid, 'SIGKILL'); } catch { /* already gone */ }
        await waitExit(m, 5_000);
      }
    }
    return m.proc.exitCode;
  } finally {
    rmSync(m.dataDir, { recursive: true, force: true });
  }
}

export interface CtlResult { code: number | null; stdout: string; stderr: string }

/** Runs `etcdctl --endpoints=127.0.0.1:<port> ...args` (API v3), feeding `stdin`, killed after `timeoutMs`. */
export function etcdctl(port: number, args: string[], stdin = '', timeoutMs = 20_000): Promise<CtlResult> {
  return new Promise((res) => {
    const child = execFile(
      'etcdctl',
      [`--endpoints=127.0.0.1:${port}`, '--dial-timeout=3s', '--command-timeout=5s', ...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        res({ code, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}
