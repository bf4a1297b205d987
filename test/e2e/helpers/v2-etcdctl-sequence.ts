// The seed's `ETCDCTL_API=2 etcdctl` commands (set, get, ls --recursive, mkdir,
// rmdir, rm, watch, set --ttl) against a member's v2 API, with the index etcdctl
// prints in errors ("[123]") made relative. Recorded from etcd 3.4.23 by
// record-v2.ts into fixtures/v2-etcdctl.json; v2-keys.test.ts replays them.

import { execFile, spawn } from 'node:child_process';

export interface CtlStep {
  args: string[];
  /** Run as a background `watch` that this step's `then` wakes. */
  then?: string[];
}

export interface CtlAnswer {
  cmd: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

export const CTL_STEPS: CtlStep[] = [
  { args: ['mkdir', '/ctl/dir'] },
  { args: ['set', '/ctl/dir/key1', 'value1'] },
  { args: ['get', '/ctl/dir/key1'] },
  { args: ['set', '/ctl/dir/sub/key2', 'value2'] },
  { args: ['ls', '--recursive', '/ctl'] },
  { args: ['ls', '/ctl/dir'] },
  { args: ['ls', '-p', '--recursive', '/ctl'] },
  { args: ['set', '--ttl', '60', '/ctl/ttl', 'v'] },
  { args: ['get', '/ctl/nokey'] },
  { args: ['mkdir', '/ctl/dir'] },
  { args: ['rmdir', '/ctl/dir'] },
  { args: ['rm', '/ctl/dir/key1'] },
  { args: ['rm', '/ctl/dir/sub/key2'] },
  { args: ['rmdir', '/ctl/dir/sub'] },
  { args: ['rmdir', '/ctl/dir'] },
  { args: ['mk', '/ctl/once', 'a'] },
  { args: ['mk', '/ctl/once', 'b'] },
  { args: ['update', '/ctl/once', 'c'] },
  { args: ['set', '--swap-with-value', 'nope', '/ctl/once', 'd'] },
  { args: ['rm', '--recursive', '/ctl'] },
  { args: ['watch', '/ctl/w'], then: ['set', '/ctl/w', 'woken'] },
];

function ctl(url: string, args: string[], timeoutMs = 15_000): Promise<CtlAnswer> {
  return new Promise((res) => {
    execFile('etcdctl', ['--endpoints', url, ...args], { env: { ...process.env, ETCDCTL_API: '2' }, timeout: timeoutMs, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        res({ cmd: args.join(' '), code, stdout, stderr });
      });
  });
}

/**
 * "[123]" in etcdctl's error lines → relative to base; `ls` lines sorted (etcd's
 * v2 store lists a directory in Go map order, so its order is not fixed).
 */
function normalise(a: CtlAnswer, base: number): CtlAnswer {
  const rel = (s: string): string => s.replace(/\[(\d+)\]/g, (_, d: string) => `[i+${Number(d) - base}]`);
  const stdout = a.cmd.startsWith('ls') ? a.stdout.split('\n').filter((l) => l !== '').sort().map((l) => l + '\n').join('') : a.stdout;
  return { ...a, stdout: rel(stdout), stderr: rel(a.stderr) };
}

/**
 * `baseIndex`: the member's current index; `watchRegistered`: resolves once the
 * member counts one more v2 watcher than before (etcdctl prints nothing until the change).
 */
export async function runCtlSteps(url: string, baseIndex: () => Promise<number>, watchRegistered: () => Promise<void>): Promise<CtlAnswer[]> {
  const base = await baseIndex();
  const out: CtlAnswer[] = [];
  for (const s of CTL_STEPS) {
    if (!s.then) {
      out.push(normalise(await ctl(url, s.args), base));
      continue;
    }
    // The v2 etcdctl watch waits for one change and prints its value.
    const w = spawn('etcdctl', ['--endpoints', url, ...s.args], { env: { ...process.env, ETCDCTL_API: '2' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    w.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    w.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => w.once('exit', (code) => r(code)));
    try {
      await watchRegistered();
      const wake = await ctl(url, s.then);
      const code = await Promise.race([exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`etcdctl watch not woken: ${stdout} ${stderr}`)), 10_000))]);
      out.push(normalise({ cmd: s.args.join(' '), code, stdout, stderr }, base));
      out.push(normalise(wake, base));
    } finally {
      if (w.exitCode === null) w.kill('SIGKILL');
    }
  }
  return out;
}
