// Shared e2e helpers: free loopback ports, a member process (ours or the real
// etcd) started and stopped by PID with bounded waits, etcdctl with a timeout.
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Member } from './member.js';


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

/** The etcd on PATH is 3.4 (the version recorded outputs come from). */
export function etcdIs34(): boolean {
  if (!HAVE_ETCD) return false;
  try {
    return /etcd Version: 3\.4\./.test(execFileSync('etcd', ['--version'], { encoding: 'utf8', timeout: 10_000 }));
  } catch {
    return false;
  }
}
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
export { freePort, Member } from './member.js';

export interface StartOptions {
  /** 'etcd-ts' (bin/etcd-ts) or 'etcd' (the real one on PATH). */
  impl?: 'etcd-ts' | 'etcd';
  name?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

/** Starts one member on fresh loopback ports and a fresh temp data dir; resolves once it serves clients. */
export async function startMember(opts: StartOptions = {}): Promise<Member> {
  const m = await Member.create({
    impl: opts.impl,
    name: opts.name ?? 'x',
    extraArgs: opts.extraArgs,
    startTimeoutMs: opts.readyTimeoutMs ?? 30_000,
  });
  await m.start();
  return m;
}

/** SIGTERM by PID, SIGKILL after a bound, then removes the data dir. Returns the exit code (null if killed). */
export async function stopMember(m: Member | undefined): Promise<number | null | undefined> {
  return m?.cleanup();
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
    // etcdctl may exit before it reads its input (a refused command): the pipe then
    // breaks (EPIPE), which is the command's result, not the test's error.
    child.stdin?.on('error', () => {});
    if (stdin === '') child.stdin?.end();
    else child.stdin?.end(stdin);
  });
}
