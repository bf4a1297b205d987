// The membership sequence test/e2e/membership.test.ts runs with the official
// etcdctl, against bin/etcd-ts or the real etcd (record-members.ts records the
// latter): add a member and start it from the ETCD_* lines etcdctl prints, the
// refusals (same peer URLs, unknown member, promote a voter, promote a learner
// not in sync, a second learner), a learner's refusals, promote, update, remove.
// Outputs are normalised: member ids and ports by member name, the cluster id,
// raft terms; list outputs are sorted (ids order the list, and ids differ).

import { Cluster, parseJsonBigIds, waitFor } from './cluster.js';
import { etcdctl, type CtlResult } from './etcd-process.js';
import { KvClient } from './kv-client.js';
import { freePort, Member } from './member.js';

/** More than the 5,000 entries a leader keeps for followers behind: a new member needs a snapshot. */
export const SNAPSHOT_FILL = 5_200;

export interface Expected {
  cmd: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

export const MEMBER_ARGS = ['--snapshot-count', '30'];

interface JsonMember { ID: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }

export class MemberSequence {
  readonly out: Expected[] = [];
  /** id (hex and decimal) -> name */
  private readonly names = new Map<string, string>();
  private readonly ports = new Map<number, string>();
  private clusterId = '';
  readonly extra: Member[] = [];
  /** `endpoint status` on the learner: its isLearner field. */
  learnerStatus: boolean | undefined;

  constructor(
    readonly cluster: Cluster,
    readonly impl: 'etcd' | 'etcd-ts',
  ) {
    for (const m of cluster.members) this.addPorts(m);
  }

  private addPorts(m: Member): void {
    this.ports.set(m.clientPort, `${m.name}-client`);
    this.ports.set(m.peerPort, `${m.name}-peer`);
  }

  learnId(name: string, id: bigint): void {
    this.names.set(id.toString(16), name);
    this.names.set(id.toString(10), name);
  }

  /** Member ids by name, from `member list -w json` on `via`. */
  async learnIds(via: Member): Promise<Map<string, bigint>> {
    const r = await etcdctl(via.clientPort, ['member', 'list', '-w', 'json']);
    const parsed = parseJsonBigIds(r.stdout) as { header: { cluster_id: string }; members: JsonMember[] };
    this.clusterId = String(parsed.header.cluster_id);
    const byName = new Map<string, bigint>();
    for (const m of parsed.members) {
      const id = BigInt(m.ID);
      const name = m.name || [...this.ports].find(([p]) => m.peerURLs?.some((u) => u.endsWith(`:${p}`)))?.[1]?.replace(/-peer$/, '') || '?';
      this.learnId(name, id);
      byName.set(name, id);
    }
    return byName;
  }

  normalise(text: string, sort: boolean): string {
    let t = text;
    if (this.clusterId) {
      t = t.split(this.clusterId).join('<cluster>');
      t = t.split(BigInt(this.clusterId).toString(16)).join('<cluster>');
    }
    // Longest first: a decimal id must not be cut by a shorter one.
    for (const [id, name] of [...this.names].sort((a, b) => b[0].length - a[0].length)) t = t.split(id).join(`<id:${name}>`);
    for (const [port, name] of this.ports) t = t.split(`:${port}`).join(`:<${name}>`);
    t = t.replace(/"raft_term":\d+/g, '"raft_term":TERM');
    t = t.replace(/\{"level":"warn","ts":"[^"]*",[^\n]*"error":"([^"]*)"\}/g, '<retry warning: $1>');
    // etcdctl retries some errors as often as its timeout allows: one line says it.
    t = t.replace(/(<retry warning: [^>]*>\n)(\1)+/g, '$1');
    t = t.replace(/Member\s+[0-9a-f]+ added/g, 'Member <new> added');
    // etcdctl prints ids with %16x: a shorter id is padded with spaces.
    t = t.replace(/ +(<cluster>|<id:)/g, ' $1');
    t = t.replace(/ETCD_INITIAL_CLUSTER="([^"]*)"/g, (_, list: string) => `ETCD_INITIAL_CLUSTER="${list.split(',').sort().join(',')}"`);
    if (sort) {
      const lines = t.split('\n');
      const tail = lines.pop();
      t = [...lines.sort(), tail].join('\n');
    }
    return t;
  }

  normaliseJsonList(text: string): string {
    if (!text.trim().startsWith('{')) return this.normalise(text, false);
    const parsed = parseJsonBigIds(text) as { header: Record<string, unknown>; members: JsonMember[] };
    parsed.header.raft_term = 'TERM';
    parsed.members.sort((a, b) => {
      const na = this.names.get(String(a.ID)) ?? '';
      const nb = this.names.get(String(b.ID)) ?? '';
      return na < nb ? -1 : na > nb ? 1 : 0;
    });
    return this.normalise(JSON.stringify(parsed), false);
  }

  async ctl(via: Member, args: string[], how: 'plain' | 'sort' | 'json' = 'plain', label?: string): Promise<CtlResult> {
    const r = await etcdctl(via.clientPort, args);
    const norm = (s: string) => (how === 'json' ? this.normaliseJsonList(s) : this.normalise(s, how === 'sort'));
    this.out.push({
      cmd: label ?? this.normalise(args.join(' '), false),
      code: r.code,
      stdout: norm(r.stdout),
      stderr: norm(r.stderr),
    });
    return r;
  }

  /**
   * A step whose answer is etcdctl's last error after its 100 retries of a
   * repeatable call refused as Unavailable (a learner's refusals): 2.5 s of its
   * own backoff plus 100 round trips, which on a loaded machine outlast the
   * default 5 s --command-timeout (96 attempts in 5.4 s seen at load 22 on 2
   * cores; "context deadline exceeded" instead of the refusal). A slow machine's
   * operator gives etcdctl more time; what it prints in the end is the same.
   */
  ctlRetried(via: Member, args: string[], how: 'plain' | 'sort' = 'plain'): Promise<CtlResult> {
    return this.ctl(via, ['--command-timeout=15s', ...args], how, this.normalise(args.join(' '), false));
  }

  /** A new member (not started), with fixed free ports, known to the normaliser. */
  async newMember(name: string, env: Record<string, string> | undefined, extraArgs: string[]): Promise<Member> {
    const m = await Member.create({ impl: this.impl, name, env, extraArgs, startTimeoutMs: 30_000 });
    this.addPorts(m);
    this.extra.push(m);
    return m;
  }

  /** A port for a peer URL nobody listens on (member update). */
  async sparePort(label: string): Promise<number> {
    const p = await freePort();
    this.ports.set(p, label);
    return p;
  }
}

/** The ETCD_* lines of `member add`'s output as an environment. */
export function envFromAdd(stdout: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(ETCD_[A-Z_]+)="(.*)"$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/** Id of the member added, from `Member <hex> added to cluster <hex>`. */
export function addedId(stdout: string): bigint {
  const m = /Member\s+([0-9a-f]+) added/.exec(stdout);
  if (!m) throw new Error(`no member id in: ${stdout}`);
  return BigInt('0x' + m[1]);
}

/** Waits until `m` has applied as far as `ref` had when called (serializable reads on both). */
export async function caughtUp(m: Member, ref: Member, timeoutMs: number): Promise<void> {
  const rev = (r: CtlResult) => {
    const p = parseJsonBigIds(r.stdout) as { header?: { revision?: string | number } };
    return Number(p.header?.revision ?? -1);
  };
  const target = rev(await etcdctl(ref.clientPort, ['get', 'x', '--consistency=s', '-w', 'json']));
  await waitFor(`${m.name} at revision ${target}`, timeoutMs, async () => {
    const r = await etcdctl(m.clientPort, ['get', 'x', '--consistency=s', '-w', 'json'], '', 3_000);
    return rev(r) >= target ? true : undefined;
  }, 200);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) for a member's process to exit; its exit code, or 'running'. */
async function exitOf(m: Member, timeoutMs: number): Promise<number | null | 'running'> {
  const deadline = Date.now() + timeoutMs;
  while (m.running && Date.now() < deadline) await sleep(100);
  return m.running ? 'running' : (m.proc?.exitCode ?? null);
}

/** The sequence itself; the cluster (a, b, c) is started and has a leader. */
export async function runMemberSequence(seq: MemberSequence): Promise<{ ids: Map<string, bigint>; d: Member; e: Member }> {
  const [a, b, c] = seq.cluster.members as [Member, Member, Member];
  const ids = await seq.learnIds(a);
  for (let i = 0; i < 60; i++) await etcdctl(a.clientPort, ['put', `k${i}`, `v${i}`]);
  const kv = new KvClient(a.endpoint);
  try {
    for (let i = 0; i < SNAPSHOT_FILL; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => kv.put(`fill/${i + j}`, 'x')));
    }
  } finally {
    kv.close();
  }
  await seq.ctl(a, ['member', 'list'], 'sort');
  // etcd wants every voter connected for 5 s before a member is added (strict reconfig check).
  await sleep(5_500);

  // A new voter, started from the lines `member add` prints.
  const dEnv: Record<string, string> = {};
  const d = await seq.newMember('d', dEnv, MEMBER_ARGS);
  const add = await seq.ctl(a, ['member', 'add', 'd', `--peer-urls=${d.peerUrl}`]);
  if (add.code !== 0) throw new Error(`member add d failed: ${add.stderr}`);
  ids.set('d', addedId(add.stdout));
  seq.learnId('d', ids.get('d')!);
  Object.assign(dEnv, envFromAdd(add.stdout));
  // d is not connected yet: etcd refuses with "unhealthy cluster" first.
  await seq.ctl(a, ['member', 'add', 'd2', `--peer-urls=${d.peerUrl}`]);
  await d.start();
  await caughtUp(d, a, 30_000);
  await seq.ctl(d, ['member', 'list'], 'sort');
  await seq.ctl(b, ['member', 'list', '-w', 'json'], 'json');

  // Remove a follower: it stops.
  await seq.ctl(a, ['member', 'remove', ids.get('c')!.toString(16)]);
  const code = await exitOf(c, 15_000);
  seq.out.push({ cmd: 'c exits', code: code === 'running' ? -1 : code === null ? null : code === 0 ? 0 : 1, stdout: '', stderr: '' });
  // c may have been the leader: let a new one settle first (etcd's raft drops a conf
  // change proposed while the new leader has not applied its log: request timed out).
  await waitFor('a write after the removal', 15_000, async () => ((await etcdctl(a.clientPort, ['put', 'settle', '1'])).code === 0 ? true : undefined));
  await sleep(1_000);
  await seq.ctl(a, ['member', 'remove', ids.get('c')!.toString(16)]);
  await seq.ctl(a, ['member', 'list'], 'sort');

  // etcd wants every voter connected for 5 s before it adds one (strict reconfig check).
  await sleep(5_500);
  await seq.ctl(a, ['member', 'add', 'd2', `--peer-urls=${b.peerUrl}`]);
  const eEnv: Record<string, string> = {};
  const e = await seq.newMember('e', eEnv, MEMBER_ARGS);
  const addL = await seq.ctl(a, ['member', 'add', 'e', '--learner', `--peer-urls=${e.peerUrl}`]);
  ids.set('e', addedId(addL.stdout));
  seq.learnId('e', ids.get('e')!);
  Object.assign(eEnv, envFromAdd(addL.stdout));
  const spare = await seq.sparePort('spare');
  await seq.ctl(a, ['member', 'add', 'f', '--learner', `--peer-urls=http://127.0.0.1:${spare}`]);
  await seq.ctl(b, ['member', 'promote', ids.get('e')!.toString(16)]);
  await seq.ctl(a, ['member', 'promote', ids.get('a')!.toString(16)]);
  await seq.ctl(a, ['member', 'promote', 'abcdef']);
  await e.start();
  await caughtUp(e, a, 30_000);
  await seq.ctl(e, ['put', 'x', 'y']);
  await seq.ctlRetried(e, ['get', 'k1']);
  await seq.ctl(e, ['get', 'k1', '--consistency=s']);
  await seq.ctlRetried(e, ['member', 'list'], 'sort');
  // Not compared (its figures vary): endpoint status on the learner says so.
  const st = await etcdctl(e.clientPort, ['endpoint', 'status', '-w', 'json']);
  seq.learnerStatus = (parseJsonBigIds(st.stdout) as { Status: { isLearner?: boolean } }[])[0]?.Status.isLearner;
  await seq.ctl(a, ['member', 'list'], 'sort');
  await seq.ctl(a, ['member', 'promote', ids.get('e')!.toString(16)]);
  await seq.ctl(e, ['put', 'x', 'y']);

  // Update a member's peer URLs (to a port nobody listens on), and back.
  await seq.ctl(a, ['member', 'update', ids.get('d')!.toString(16), `--peer-urls=http://127.0.0.1:${spare}`]);
  // Not compared: d is not cut off by that update. etcd keeps its live connections
  // (only later dials use the new URLs), so d still gets the leader's appends. Cut
  // off, d would campaign at ever higher terms and depose the leader once reachable
  // again: the next steps then wait seconds for a new leader (etcdctl's 5 s deadline).
  if ((await etcdctl(a.clientPort, ['put', 'after-update', '1'])).code !== 0) throw new Error('put after member update failed');
  await caughtUp(d, a, 15_000);
  await seq.ctl(a, ['member', 'list'], 'sort');
  await seq.ctl(a, ['member', 'update', ids.get('d')!.toString(16), `--peer-urls=${d.peerUrl}`]);
  await seq.ctl(a, ['member', 'update', 'abcdef', `--peer-urls=http://127.0.0.1:${spare}`]);
  await seq.ctl(a, ['member', 'update', ids.get('d')!.toString(16), `--peer-urls=${a.peerUrl}`]);
  await seq.ctl(a, ['member', 'list', '-w', 'json'], 'json');
  return { ids, d, e };
}
