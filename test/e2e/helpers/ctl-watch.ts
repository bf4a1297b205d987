// `etcdctl watch` as a long-running child process: output collected as it
// comes, stdin writable (interactive mode), every wait bounded, and a stop by
// PID (SIGKILL: etcdctl watch has nothing to flush).

import { spawn, type ChildProcess } from 'node:child_process';

export class CtlWatch {
  stdout = '';
  stderr = '';
  code: number | null = null;
  private readonly exited: Promise<number | null>;

  private constructor(private readonly proc: ChildProcess) {
    proc.stdout!.on('data', (b: Buffer) => (this.stdout += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.exited = new Promise((res) => proc.once('exit', (code) => res((this.code = code))));
  }

  /** Starts `etcdctl --endpoints=127.0.0.1:<port> <args>` (API v3). */
  static start(port: number, args: string[]): CtlWatch {
    const proc = spawn('etcdctl', [`--endpoints=127.0.0.1:${port}`, '--dial-timeout=3s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new CtlWatch(proc);
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  lines(): number {
    let n = 0;
    for (const c of this.stdout) if (c === '\n') n++;
    return n;
  }

  /** Waits until `cond` holds (checked every 20 ms) or the process exits; throws after `ms`. */
  async until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (!this.running) throw new Error(`etcdctl exited (${this.code}) before ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  write(text: string): void {
    this.proc.stdin!.write(text);
  }

  endInput(): void {
    this.proc.stdin!.end();
  }

  /** Resolves with the exit code; kills the process and throws after `ms`. */
  async exit(ms = 15_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), ms)));
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      await this.kill();
      throw new Error(`etcdctl did not exit within ${ms} ms\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
    }
    return r;
  }

  /** SIGKILL by PID; resolves once it has exited. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}
