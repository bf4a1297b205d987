// e2e helpers for --discovery: a discovery backend (etcd 3.4.23 or etcd-ts with
// --enable-v2) seeded as the articles do (`curl -X PUT .../_config/size -d
// value=N`), members started with only their own URLs and --discovery, and
// processes run to their exit (real etcd or ours) with their warnings parsed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, freePort, Member, REPO } from './member.js';

/** A v2 backend on free ports; `discoveryUrl(token)` is what members get. */
export async function startBackend(impl: 'etcd' | 'etcd-ts'): Promise<Member> {
  const m = await Member.create({ impl, name: 'disc', extraArgs: ['--enable-v2'] });
  await m.start();
  return m;
}

export const discoveryUrl = (backend: Member, token: string): string => `${backend.clientUrl}/v2/keys/discovery/${token}`;

/** The seed's `curl -X PUT <backend>/v2/keys/discovery/<token>/_config/size -d value=<size>`. */
export async function seedSize(backend: Member, token: string, size: string): Promise<void> {
  const res = await fetch(`${discoveryUrl(backend, token)}/_config/size`, {
    method: 'PUT',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ value: size }).toString(),
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`seeding ${token}: ${res.status} ${await res.text()}`);
}

/** A member started with its own URLs and --discovery only (no --initial-cluster). */
export async function discoveryMember(impl: 'etcd' | 'etcd-ts', name: string, url: string, extraArgs: string[] = []): Promise<Member> {
  const peerPort = await freePort();
  return Member.create({
    impl,
    name,
    peerPort,
    startTimeoutMs: 40_000,
    env: { ETCD_NAME: name, ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://127.0.0.1:${peerPort}`, ETCD_DISCOVERY: url },
    // etcd's default logger (capnslog) prints the "ready to serve client requests" Member waits for.
    extraArgs,
  });
}

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export interface Exited {
  code: number | null;
  lines: LogLine[];
  /** What the run left in its data dir (paths relative to it). */
  leftover: string[];
}

/** JSON log lines of a process (zap's and pino's), level as text. */
export function parseLog(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      out.push(JSON.parse(raw) as LogLine);
    } catch {
      // a line cut by the process's exit
    }
  }
  return out;
}

/** Runs a discovery member (fresh ports and data dir) until it exits, bounded; kills it after `timeoutMs`. */
export async function runToExit(
  impl: 'etcd' | 'etcd-ts',
  name: string,
  url: string,
  extraArgs: string[] = [],
  opts: { timeoutMs?: number; peerPort?: number } = {},
): Promise<Exited> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const dataDir = await mkdtemp(join(tmpdir(), 'etcd-ts-e2e-disc-'));
  const [client, peer] = [await freePort(), opts.peerPort ?? (await freePort())];
  const args = [
    '--name', name, '--data-dir', join(dataDir, 'd'),
    '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--discovery', url, ...(impl === 'etcd' ? ['--logger', 'zap'] : []), ...extraArgs,
  ];
  const proc = impl === 'etcd' ? spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO });
  let text = '';
  proc.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const leftover = await readdir(join(dataDir, 'd'), { recursive: true }).catch(() => [] as string[]);
  await rm(dataDir, { recursive: true, force: true });
  return { code, lines: parseLog(text), leftover: leftover.map(String) };
}

/** The warnings and worse, as [msg, error] (the index in a v2 error's "[N]" made "[#]"). */
export function problems(lines: LogLine[]): [string, string | undefined][] {
  return lines
    .filter((l) => ['warn', 'error', 'fatal'].includes(l.level))
    .map((l) => [l.msg, typeof l.error === 'string' ? l.error.replace(/\[\d+\]/g, '[#]') : undefined]);
}

/** A process started with `args` that is running once `marker` appears on its stderr. */
export async function spawnUntil(args: string[], marker: string, timeoutMs = 30_000): Promise<{ proc: ChildProcess; log: () => string; stop: () => Promise<number | null> }> {
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO });
  let text = '';
  proc.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  const stop = (): Promise<number | null> =>
    new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
      proc.kill('SIGTERM');
    });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${marker}" within ${timeoutMs} ms:\n${text}`)), timeoutMs);
    proc.stderr!.on('data', (b: Buffer) => {
      text += b.toString();
      if (text.includes(marker)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`exited (${c}) before "${marker}":\n${text}`));
    });
  }).catch(async (err) => {
    await stop();
    throw err;
  });
  return { proc, log: () => text, stop };
}
