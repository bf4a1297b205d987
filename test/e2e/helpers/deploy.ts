// Helpers for the deployment-file tests (Procfile, compose.yaml, Dockerfile): split a
// Procfile line as a shell does, read the small YAML subset compose.yaml uses, map
// the files' fixed addresses onto free loopback ports, and run a member process
// with exactly the argv and environment the file gives it (stopped by PID).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REPO } from './member.js';

/** Splits a command line into words: whitespace, '…' and "…" quoting, backslash escapes (POSIX sh, no expansions). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      cur += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      for (; i < line.length && line[i] !== '"'; i++) cur += line[i] === '\\' && i + 1 < line.length ? line[++i] : line[i];
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

export interface ProcfileEntry { name: string; argv: string[] }

/** `name: command` lines; blank lines and `#` comments skipped (as goreman and foreman do). */
export function parseProcfile(text: string): ProcfileEntry[] {
  const out: ProcfileEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line.trim());
    if (!m || line.trim().startsWith('#')) continue;
    out.push({ name: m[1]!, argv: shellWords(m[2]!) });
  }
  return out;
}

export type Yaml = string | Yaml[] | { [k: string]: Yaml };

/**
 * The YAML subset compose.yaml is written in: block mappings and block sequences by
 * indentation, plain or quoted scalars, `#` comments, empty values as {}. No flow
 * collections, anchors, or multi-line scalars (the reader throws on what it does not know).
 */
export function parseYaml(text: string): Yaml {
  const lines = text
    .split('\n')
    .map((raw) => raw.replace(/\s+#.*$/, '').replace(/^\s*#.*$/, ''))
    .filter((l) => l.trim() !== '' && l.trim() !== '---')
    .map((l) => ({ indent: l.length - l.trimStart().length, body: l.trim() }));
  let i = 0;
  const scalar = (s: string): string => {
    if (/^[[{&*|>!]/.test(s)) throw new Error(`unsupported YAML: ${s}`);
    if (s.startsWith('"') && s.endsWith('"')) return JSON.parse(s) as string;
    if (s.startsWith("'") && s.endsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
    return s;
  };
  const block = (indent: number): Yaml => {
    if (i < lines.length && lines[i]!.indent === indent && lines[i]!.body.startsWith('- ')) {
      const list: Yaml[] = [];
      while (i < lines.length && lines[i]!.indent === indent && lines[i]!.body.startsWith('- ')) {
        list.push(scalar(lines[i]!.body.slice(2).trim()));
        i++;
      }
      return list;
    }
    const map: { [k: string]: Yaml } = {};
    while (i < lines.length && lines[i]!.indent === indent) {
      const { body } = lines[i]!;
      const m = /^("[^"]*"|'[^']*'|[^:]+):(?:\s+(.*))?$/.exec(body);
      if (!m) throw new Error(`unsupported YAML line: ${body}`);
      const key = scalar(m[1]!.trim());
      i++;
      if (m[2] !== undefined && m[2] !== '') map[key] = scalar(m[2].trim());
      else if (i < lines.length && lines[i]!.indent > indent) map[key] = block(lines[i]!.indent);
      else if (i < lines.length && lines[i]!.indent === indent && lines[i]!.body.startsWith('- ')) map[key] = block(indent);
      else map[key] = {};
    }
    if (i < lines.length && lines[i]!.indent > indent) throw new Error(`bad indentation at: ${lines[i]!.body}`);
    return map;
  };
  const doc = block(0);
  if (i < lines.length) throw new Error(`unparsed YAML from: ${lines[i]!.body}`);
  return doc;
}

/** Maps each fixed `host:port` of a deployment file onto its own free 127.0.0.1 port, the same one every time it is asked. */
export class AddressMap {
  private readonly map = new Map<string, string>();

  async add(hostPort: string): Promise<string> {
    let to = this.map.get(hostPort);
    if (!to) {
      let port: number;
      const used = new Set([...this.map.values()]);
      do port = await freePort();
      while (used.has(`127.0.0.1:${port}`));
      to = `127.0.0.1:${port}`;
      this.map.set(hostPort, to);
    }
    return to;
  }

  get(hostPort: string): string {
    const to = this.map.get(hostPort);
    if (!to) throw new Error(`no mapping for ${hostPort}`);
    return to;
  }

  /** Rewrites every `http://host:port` in `s` whose host:port is mapped (with `alias` giving host:port → host:port first). */
  rewrite(s: string, alias: (hostPort: string) => string = (h) => h): string {
    return s.replace(/http:\/\/([^/,:'"\s]+:\d+)/g, (_, hp: string) => `http://${this.get(alias(hp))}`);
  }

  /** Every host:port in `s` that follows http:// (to register them with add()). */
  static found(s: string): string[] {
    return [...s.matchAll(/http:\/\/([^/,:'"\s]+:\d+)/g)].map((m) => m[1]!);
  }
}

/** One member process run with a given argv and environment in its own temp working directory. */
export class DeployedProcess {
  proc: ChildProcess | undefined;
  log = '';

  private constructor(readonly name: string, readonly cwd: string) {}

  static async create(name: string): Promise<DeployedProcess> {
    return new DeployedProcess(name, await mkdtemp(join(tmpdir(), `etcd-ts-deploy-${name}-`)));
  }

  /** Spawns `argv` (a relative command is resolved against the repo, as goreman would run it from there). */
  start(argv: string[], env: NodeJS.ProcessEnv): void {
    const cmd = argv[0]!.startsWith('/') ? argv[0]! : join(REPO, argv[0]!);
    const proc = spawn(cmd, argv.slice(1), { cwd: this.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (b: Buffer) => (this.log += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (this.log += b.toString()));
  }

  /** Resolves once the member serves clients; rejects if it exits first or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    const proc = this.proc!;
    return new Promise((res, rej) => {
      const check = (): boolean => this.log.includes('ready to serve client requests');
      if (check()) return res();
      const timer = setTimeout(() => done(new Error(`${this.name} not ready in ${timeoutMs} ms:\n${this.log.slice(-3000)}`)), timeoutMs);
      const onData = (): void => void (check() && done());
      const onExit = (code: number | null): void => done(new Error(`${this.name} exited (${code}) before ready:\n${this.log.slice(-3000)}`));
      const done = (err?: Error): void => {
        clearTimeout(timer);
        proc.stderr!.off('data', onData);
        proc.off('exit', onExit);
        if (err) rej(err);
        else res();
      };
      proc.stderr!.on('data', onData);
      proc.once('exit', onExit);
    });
  }

  /** SIGTERM by PID, SIGKILL after a bound; then removes the working directory. */
  async cleanup(boundMs = 10_000): Promise<void> {
    const proc = this.proc;
    const exited = (): boolean => !proc || proc.exitCode !== null || proc.signalCode !== null;
    for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
      if (exited()) break;
      await new Promise<void>((res) => {
        const timer = setTimeout(res, boundMs);
        proc!.once('exit', () => {
          clearTimeout(timer);
          res();
        });
        proc!.kill(sig);
      });
    }
    await rm(this.cwd, { recursive: true, force: true });
  }
}
