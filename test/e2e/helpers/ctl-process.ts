// A long-running etcdctl (`lease keep-alive`, `watch`, `watch -i`) as a child
// process: output collected as it comes, stdin writable when asked for
// (interactive mode), every wait bounded, stopped by PID.

import { spawn, type ChildProcess } from 'node:child_process';

export class CtlProcess {
  stdout = '';
  stderr = '';
  code: number | null = null;
  private readonly exited: Promise<number | null>;

  private constructor(private readonly proc: ChildProcess) {
    proc.stdout!.on('data', (b: Buffer) => (this.stdout += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.exited = new Promise((res) => proc.once('exit', (code) => res((this.code = code))));
  }

  /**
   * Starts `etcdctl --endpoints=<endpoints> <args>` (API v3, or `api`); `endpoints` is a port
   * or a host:port list. With `stdin`, write() and endInput() feed it.
   */
  static start(endpoints: number | string, args: string[], opts: { stdin?: boolean; api?: '2' | '3' } = {}): CtlProcess {
    const eps = typeof endpoints === 'number' ? `127.0.0.1:${endpoints}` : endpoints;
    const proc = spawn('etcdctl', [`--endpoints=${eps}`, '--dial-timeout=3s', ...args], {
      env: { ...process.env, ETCDCTL_API: opts.api ?? '3' },
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    return new CtlProcess(proc);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  lines(): string[] {
    return this.stdout.split('\n').slice(0, -1);
  }

  /** Complete lines of stdout so far. */
  lineCount(): number {
    let n = 0;
    for (const c of this.stdout) if (c === '\n') n++;
    return n;
  }

  write(text: string): void {
    this.proc.stdin!.write(text);
  }

  endInput(): void {
    this.proc.stdin!.end();
  }

  /** Waits until `cond` holds (checked every 20 ms); throws if the process exits first or after `ms`. */
  async until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (!this.running) throw new Error(`etcdctl exited (${this.code}) before ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resolves with the exit code, or undefined if it is still running after `ms`. */
  async exit(ms: number): Promise<number | null | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((res) => (timer = setTimeout(() => res(undefined), ms)));
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return r;
  }

  /** The exit code; if it is still running after `ms`, kills it and throws. */
  async exitOrKill(ms = 15_000): Promise<number | null> {
    const code = await this.exit(ms);
    if (code !== undefined) return code;
    await this.kill();
    throw new Error(`etcdctl did not exit within ${ms} ms\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
  }

  /** SIGINT by PID (what Ctrl-C sends: etcdctl lock/elect then unlock/resign and exit). */
  interrupt(): void {
    if (this.running) this.proc.kill('SIGINT');
  }

  /** SIGKILL by PID; resolves once it has exited. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}
