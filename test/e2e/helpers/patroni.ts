// A 3-member Patroni cluster (Debian's patroni 3.0.2 and PostgreSQL 15) whose DCS is
// an etcd cluster reached over HTTP only (Patroni's `etcd3` section: the /v3 JSON
// gateway). Processes run on free loopback ports in a temp dir and are stopped by PID.
//
// PostgreSQL refuses to run as root and CI runs as root: then Patroni (and the
// postmaster it starts) run as the `postgres` user through spawn's uid/gid, so the PID
// we hold is Patroni's own. The postmaster is detached by Patroni (setsid), so a
// crash test kills it by the PID in postmaster.pid.
//
// What Patroni 3.0.2 asks of etcd: the contract the /v3 JSON gateway must meet. Recorded
// through a logging proxy in front of etcd 3.4.23 over election, switchover and
// failover. Every request is HTTP/1.1 with `Content-Type: application/json`, a JSON
// body (Python's json.dumps: `{"key": "..."}` with spaces) and a Content-Length; keys
// and values are base64; 64-bit integers come as strings ("7520908316191823623", above
// 2^53: they must be parsed exactly) except compare's create_revision, a number 0.
// Unary answers are read whole and parsed with json.loads.
// - GET /version with a `{}` body (a GET with a body!) -> {"etcdserver":"3.4.23",
//   "etcdcluster":"3.4.0"}: cluster version >= 3.4 picks the /v3 prefix (3.3: /v3beta).
// - POST /v3/cluster/member/list {} -> members[].clientURLs: the machines Patroni uses
//   from then on (each member must advertise a reachable client URL); again after a
//   failed request and every ttl*10 s.
// - POST /v3/lease/grant {"TTL": 30} at start (the default ttl), then {"TTL": 10} once
//   the dynamic config is read -> "ID" (string; sent back as is), "TTL".
// - POST /v3/lease/keepalive {"ID": "<id>"} every loop_wait: one request on the
//   streaming RPC; etcd answers `Transfer-Encoding: chunked` with exactly one
//   `{"result":{"header",...,"ID","TTL":"10"}}\n` and ends the response (the request
//   stream is closed). Patroni json.loads the whole body, so nothing may follow; a
//   missing/zero TTL means the lease is gone and Patroni grants a new one.
// - POST /v3/kv/range {"key","range_end","serializable": true} on the prefix
//   /service/<scope>/ at each watch (re)start -> kvs[] {key, value, mod_revision,
//   lease} and header.revision (an empty range has no "kvs").
// - POST /v3/kv/put {"key","value"[,"lease"]}: members/<name> (with the lease), status,
//   history, config, failover, initialize (the sysid).
// - POST /v3/kv/txn: {"compare":[{"target":"CREATE","create_revision":0,"key"}],
//   "success":[{"request_put":{"key","value"[,"lease"]}}]} for the leader race and
//   initialize; {"compare":[{"target":"MOD","mod_revision":"<rev>","key"}],
//   "success":[{"request_delete_range":{"key"}}]} to give the leader key up at
//   switchover. -> "succeeded": true, or no "succeeded" (and no "responses") when the
//   compare fails: defaults are omitted, as etcd's gateway omits them.
// - POST /v3/kv/deleterange {"key"[,"range_end"]} (not seen in these steps).
// - POST /v3/watch {"create_request":{"key","range_end","start_revision":"<the
//   range's header.revision>","filters":[]}}: one long-lived answer per Patroni process,
//   `Transfer-Encoding: chunked` (read with urllib3's read_chunked), one
//   `{"result":{...}}\n` per message: first {"header","created":true}, then
//   {"header","events":[{"kv":{key,create_revision,mod_revision,version,value,lease}}]}
//   for a put ("type" omitted: PUT is the default) and {"type":"DELETE","kv":{"key",
//   "mod_revision"}} for a delete or a lease expiry (what wakes replicas at failover).
//   The end of the request body must NOT end the watch; Patroni ends it by closing the
//   socket (so the server must notice the close and cancel the watch).
// - Errors: {"error","code","message"} with a status >= 400; Patroni maps them by the
//   exact error text ("etcdserver: requested lease not found" -> a new lease).
//   Headers: `User-Agent: Patroni/3.0.2 Python/3.11.2 Linux`; `authorization` only
//   with auth. etcd's answers also carry CORS headers and grpc-metadata-content-type,
//   which Patroni ignores.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPath, IN_CI } from './etcd-process.js';
import { freePort } from './member.js';
import { sleep, waitFor } from './cluster.js';

export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

/** The tools this harness drives, and what is missing of them. */
function missingTools(): string[] {
  const missing = ['patroni', 'patronictl', 'psql'].filter((c) => !onPath(c));
  try {
    accessSync(join(PG_BIN_DIR, 'postgres'), constants.X_OK);
  } catch {
    missing.push(`${PG_BIN_DIR}/postgres`);
  }
  if (process.getuid?.() === 0 && !postgresUser()) missing.push('user postgres');
  return missing;
}

/**
 * True when patroni, PostgreSQL 15 and (as root) the postgres user are here; when
 * something is missing, throws in CI (CI=true: the test must not silently pass) and
 * returns false elsewhere (the caller skips).
 */
export function requirePatroni(): boolean {
  const missing = missingTools();
  if (missing.length === 0) return true;
  if (IN_CI) throw new Error(`Patroni e2e needs ${missing.join(', ')} (Debian packages patroni, postgresql-15)`);
  return false;
}

/** uid/gid of `postgres` from /etc/passwd. */
function postgresUser(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Who Patroni and PostgreSQL run as: ourselves, or postgres when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? postgresUser() : undefined;
}

export interface PatroniMember {
  name: string;
  role: string;
  state: string;
  timeline?: number;
  host?: string;
  port?: number;
}

/** Dynamic settings short enough for a quick test: the leader key lives `ttl` s. */
export const PATRONI_TIMING = { ttl: 10, loop_wait: 1, retry_timeout: 5 } as const;

function configYaml(o: { scope: string; name: string; dir: string; restPort: number; pgPort: number; hosts: string[] }): string {
  // JSON is YAML: no YAML library needed.
  return JSON.stringify(
    {
      scope: o.scope,
      namespace: '/service/',
      name: o.name,
      log: { level: 'INFO' },
      restapi: { listen: `127.0.0.1:${o.restPort}`, connect_address: `127.0.0.1:${o.restPort}` },
      etcd3: { hosts: o.hosts, protocol: 'http' },
      bootstrap: {
        dcs: {
          ...PATRONI_TIMING,
          maximum_lag_on_failover: 1048576,
          postgresql: { use_pg_rewind: false, parameters: { max_connections: 20, max_wal_senders: 5, max_replication_slots: 5 } },
        },
        initdb: [{ encoding: 'UTF8' }],
        pg_hba: ['local all all trust', 'host all all 127.0.0.1/32 trust', 'host replication all 127.0.0.1/32 trust'],
      },
      postgresql: {
        listen: `127.0.0.1:${o.pgPort}`,
        connect_address: `127.0.0.1:${o.pgPort}`,
        data_dir: join(o.dir, 'data'),
        bin_dir: PG_BIN_DIR,
        pgpass: join(o.dir, 'pgpass'),
        authentication: {
          superuser: { username: 'postgres', password: 'postgres' },
          replication: { username: 'replicator', password: 'replicator' },
        },
        // Test data: no fsync (a crash here is a test step, not a loss).
        parameters: { unix_socket_directories: o.dir, shared_buffers: '16MB', fsync: 'off', synchronous_commit: 'off' },
      },
      watchdog: { mode: 'off' },
    },
    null,
    2,
  );
}

export class PatroniNode {
  proc: ChildProcess | undefined;
  log = '';
  /** Set by crash() and stop(): the process is meant to be down. */
  down = false;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly restPort: number,
    readonly pgPort: number,
  ) {}

  get configPath(): string {
    return join(this.dir, 'patroni.yml');
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(): void {
    const ids = runAs();
    this.log = '';
    this.down = false;
    const proc = spawn('patroni', [this.configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: this.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
      ...(ids ?? {}),
    });
    this.proc = proc;
    const keep = (b: Buffer): void => {
      this.log += b.toString();
      if (this.log.length > 1 << 20) this.log = this.log.slice(-(1 << 19));
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
  }

  /** GET on the REST API; undefined when it does not answer (yet). */
  async rest<T>(path: string, timeoutMs = 2_000): Promise<{ status: number; body: T } | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.restPort}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    } catch {
      return undefined;
    }
  }

  /** The postmaster's PID (line 1 of postmaster.pid) and shared memory id (line 7: "key id"), while it has one. */
  async postmasterPidFile(): Promise<{ pid: number; shmId?: number } | undefined> {
    let lines: string[];
    try {
      lines = (await readFile(join(this.dir, 'data', 'postmaster.pid'), 'utf8')).split('\n');
    } catch {
      return undefined;
    }
    const pid = Number(lines[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const shmId = Number(lines[6]?.trim().split(/\s+/)[1]);
    return Number.isInteger(shmId) && shmId >= 0 ? { pid, shmId } : { pid };
  }

  /**
   * kill -9 of Patroni and then of its postmaster (a crashed host). The postmaster's
   * System V shared memory segment (id in postmaster.pid) outlives a kill -9: it is
   * marked for removal so this shared machine does not collect them.
   */
  async crash(): Promise<void> {
    this.down = true;
    const pidFile = await this.postmasterPidFile();
    await signalAndWait(this.proc, 'SIGKILL', 10_000);
    if (pidFile) {
      killPid(pidFile.pid, 'SIGKILL');
      await waitFor(`postmaster ${pidFile.pid} of ${this.name} to exit`, 10_000, async () => (pidAlive(pidFile.pid) ? undefined : true));
      if (pidFile.shmId !== undefined) await run('ipcrm', ['-m', String(pidFile.shmId)], 5_000);
    }
  }

  /**
   * SIGTERM to Patroni (it stops PostgreSQL, fast mode), SIGKILL after a bound; then a
   * postmaster that outlived it gets SIGQUIT (immediate shutdown, which also frees its
   * shared memory) and SIGKILL after a bound.
   */
  async stop(): Promise<void> {
    this.down = true;
    const pm = (await this.postmasterPidFile())?.pid;
    if (this.running && !(await signalAndWait(this.proc, 'SIGTERM', 20_000))) await signalAndWait(this.proc, 'SIGKILL', 5_000);
    if (pm !== undefined && pidAlive(pm)) {
      killPid(pm, 'SIGQUIT');
      const deadline = Date.now() + 10_000;
      while (pidAlive(pm) && Date.now() < deadline) await sleep(100);
      if (pidAlive(pm)) killPid(pm, 'SIGKILL');
    }
  }
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch { /* already gone */ }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0: it has exited for our purposes.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Sends `signal` and resolves true once the process exited, false after `boundMs`. */
function signalAndWait(proc: ChildProcess | undefined, signal: NodeJS.Signals, boundMs: number): Promise<boolean> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const timer = setTimeout(() => res(false), boundMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      res(true);
    });
    proc.kill(signal);
  });
}

export interface CmdResult { code: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<CmdResult> {
  return new Promise((res) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

export class PatroniCluster {
  private constructor(
    readonly dir: string,
    readonly nodes: PatroniNode[],
  ) {}

  /** Writes three members' configs (scope `scope`, DCS at `etcdHosts`, host:port each). */
  static async create(etcdHosts: string[], scope = 'etcdts'): Promise<PatroniCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-ts-patroni-'));
    const ids = runAs();
    if (ids) await chown(dir, ids.uid, ids.gid);
    const ports = new Set<number>();
    while (ports.size < 6) ports.add(await freePort());
    const [p0, p1, p2, p3, p4, p5] = [...ports] as [number, number, number, number, number, number];
    const pairs: [number, number][] = [[p0, p1], [p2, p3], [p4, p5]];
    const nodes: PatroniNode[] = [];
    for (const [i, [restPort, pgPort]] of pairs.entries()) {
      const name = `pg${i + 1}`;
      const nodeDir = join(dir, name);
      await mkdir(nodeDir, { mode: 0o700 });
      const node = new PatroniNode(name, nodeDir, restPort, pgPort);
      await writeFile(node.configPath, configYaml({ scope, name, dir: nodeDir, restPort, pgPort, hosts: etcdHosts }), { mode: 0o644 });
      if (ids) {
        await chown(nodeDir, ids.uid, ids.gid);
        await chown(node.configPath, ids.uid, ids.gid);
      }
      nodes.push(node);
    }
    return new PatroniCluster(dir, nodes);
  }

  start(): void {
    for (const n of this.nodes) n.start();
  }

  node(name: string): PatroniNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no Patroni member ${name}`);
    return n;
  }

  /** The cluster as `GET /cluster` on any running member shows it (the DCS's view). */
  async members(): Promise<PatroniMember[] | undefined> {
    for (const n of this.nodes.filter((x) => x.running)) {
      const r = await n.rest<{ members: PatroniMember[] }>('/cluster');
      if (r?.status === 200 && r.body) return r.body.members;
    }
    return undefined;
  }

  /**
   * Waits until the DCS names one running leader (other than `not`), its own REST API
   * says it is the primary (`GET /primary` 200), its PostgreSQL has left recovery, and
   * `replicas` other members run. Patroni answers `/primary` 200 as soon as
   * `pg_ctl promote -W` returns, before the promotion finishes, so the last check is not
   * implied by the others (on a loaded machine a psql right after `/primary` still saw
   * `pg_is_in_recovery()` true).
   */
  async waitForLeader(timeoutMs: number, opts: { not?: string; replicas?: number } = {}): Promise<PatroniNode> {
    const found = await waitFor<PatroniNode | Error>(`a Patroni leader${opts.not ? ` other than ${opts.not}` : ''}`, timeoutMs, async () => {
      // A member that died on its own (a fatal bootstrap error, say) will not come back: stop waiting.
      const died = this.nodes.find((n) => !n.down && n.proc && !n.running);
      if (died) return new Error(`Patroni ${died.name} exited (${died.proc!.exitCode ?? died.proc!.signalCode})`);
      const members = await this.members();
      const leaders = (members ?? []).filter((m) => m.role === 'leader' && m.state === 'running');
      if (leaders.length !== 1 || leaders[0]!.name === opts.not) throw new Error(`members: ${JSON.stringify(members)}`);
      const replicas = members!.filter((m) => m.role !== 'leader' && m.state === 'running');
      if (replicas.length < (opts.replicas ?? 0)) throw new Error(`members: ${JSON.stringify(members)}`);
      const leader = this.node(leaders[0]!.name);
      const primary = await leader.rest('/primary');
      if (primary?.status !== 200) throw new Error(`${leader.name} GET /primary: ${primary?.status}`);
      const recovery = await this.psql(leader, 'SELECT pg_is_in_recovery()');
      if (recovery.code !== 0 || recovery.stdout.trim() !== 'f') {
        throw new Error(`${leader.name} pg_is_in_recovery(): ${recovery.stdout.trim()}${recovery.stderr}`);
      }
      return leader;
    }, 250);
    if (found instanceof Error) throw found;
    return found;
  }

  /** psql against one member as the superuser (trust on loopback); unaligned, tuples only. */
  psql(node: PatroniNode, sql: string, timeoutMs = 10_000): Promise<CmdResult> {
    return run('psql', ['-h', '127.0.0.1', '-p', String(node.pgPort), '-U', 'postgres', '-d', 'postgres', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], timeoutMs, { PGCONNECT_TIMEOUT: '3' });
  }

  /** `patronictl -c <config> ...args` (any member's config names the DCS and scope). */
  patronictl(args: string[], timeoutMs = 60_000): Promise<CmdResult> {
    return run('patronictl', ['-c', this.nodes[0]!.configPath, ...args], timeoutMs, { HOME: this.dir });
  }

  /** Every member's Patroni log, for a failure message. */
  logs(): string {
    return this.nodes.map((n) => `--- ${n.name} ---\n${n.log.slice(-6_000)}`).join('\n');
  }

  /** Stops every member by PID and removes the temp dir. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.stop()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
