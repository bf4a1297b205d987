// The seed articles' v2 curl commands, as written (with our port), run with the
// real curl against a member, and their answers normalised so that etcd 3.4.23's
// and ours compare: indexes relative to the index before the first step, times
// and member/cluster ids replaced, unsorted listings sorted. Recorded from etcd by
// record-v2.ts into fixtures/v2-keys.json; test/e2e/v2-keys.test.ts replays them.

import { execFile, spawn } from 'node:child_process';
import { waitFor } from './cluster.js';

/** One step: curl arguments (URL paths relative to the client URL), or a special action. */
export interface Step {
  name: string;
  /** curl arguments; `{url}` is replaced by the member's client URL. */
  curl?: string[];
  /** Run these curls at once (contenders for one lock); answers are compared as a sorted set. */
  race?: string[][];
  /** Start this curl (a wait=true long poll), wait until the member counts `watchers` watchers, then run `then`. */
  watch?: { curl: string[]; then: string[] };
  /** Poll this curl until its status is `status` (TTL expiry), at most `ms`. */
  until?: { curl: string[]; status: number; ms: number };
  /** Make history older than what the member keeps (etcd: 1000+ writes; ours: a v3 compaction). */
  ageHistory?: true;
}

export interface Answer {
  status: number;
  /** Headers etcd's v2 API sets, normalised (values of indexes relative, others "present"). */
  headers: Record<string, string>;
  body: unknown;
}

export interface Recorded {
  name: string;
  answers: Answer[];
}

const H = ['-s', '-i'];
export const STEPS: Step[] = [
  { name: 'set', curl: [...H, '-X', 'PUT', '{url}/v2/keys/message', '-d', 'value=Hello'] },
  { name: 'get', curl: [...H, '{url}/v2/keys/message'] },
  { name: 'change the value', curl: [...H, '-X', 'PUT', '{url}/v2/keys/message', '-d', 'value=Hello etcd'] },
  { name: 'delete', curl: [...H, '-X', 'DELETE', '{url}/v2/keys/message'] },
  { name: 'get a deleted key', curl: [...H, '{url}/v2/keys/message'] },
  { name: 'set with a TTL', curl: [...H, '-X', 'PUT', '{url}/v2/keys/foo', '-d', 'value=bar', '-d', 'ttl=5'] },
  { name: 'TTL expired', until: { curl: [...H, '{url}/v2/keys/foo'], status: 404, ms: 15_000 } },
  { name: 'create a directory', curl: [...H, '-X', 'PUT', '{url}/v2/keys/dir', '-d', 'dir=true'] },
  { name: 'set in a directory', curl: [...H, '-X', 'PUT', '{url}/v2/keys/dir/key1', '-d', 'value=v1'] },
  { name: 'list a directory', curl: [...H, '{url}/v2/keys/dir'] },
  { name: 'list the root recursively', curl: [...H, '{url}/v2/keys/?recursive=true'] },
  {
    name: 'wait=true woken by a change',
    watch: { curl: [...H, '{url}/v2/keys/foo?wait=true'], then: [...H, '-X', 'PUT', '{url}/v2/keys/foo', '-d', 'value=bar'] },
  },
  {
    name: 'recursive watch of a directory',
    watch: { curl: [...H, '{url}/v2/keys/dir?wait=true&recursive=true'], then: [...H, '-X', 'PUT', '{url}/v2/keys/dir/foo', '-d', 'value=x'] },
  },
  { name: 'waitIndex in the past', curl: [...H, '{url}/v2/keys/foo?wait=true&waitIndex=REL:1'] },
  { name: 'POST in-order key 1', curl: [...H, '-X', 'POST', '{url}/v2/keys/queue', '-d', 'value=Job1'] },
  { name: 'POST in-order key 2', curl: [...H, '-X', 'POST', '{url}/v2/keys/queue', '-d', 'value=Job2'] },
  { name: 'in-order keys listed in order', curl: [...H, '{url}/v2/keys/queue?recursive=true&sorted=true'] },
  {
    name: 'prevExist=false as a lock (two clients, one wins)',
    race: [
      [...H, '-X', 'PUT', '{url}/v2/keys/lock?prevExist=false', '-d', 'value=client1'],
      [...H, '-X', 'PUT', '{url}/v2/keys/lock?prevExist=false', '-d', 'value=client2'],
    ],
  },
  { name: 'compare and swap: value mismatch', curl: [...H, '-X', 'PUT', '{url}/v2/keys/foo?prevValue=nope', '-d', 'value=two'] },
  { name: 'compare and swap: index mismatch', curl: [...H, '-X', 'PUT', '{url}/v2/keys/foo?prevIndex=1', '-d', 'value=two'] },
  { name: 'compare and swap', curl: [...H, '-X', 'PUT', '{url}/v2/keys/foo?prevValue=bar', '-d', 'value=two'] },
  { name: 'update a missing key', curl: [...H, '-X', 'PUT', '{url}/v2/keys/missing?prevExist=true', '-d', 'value=x'] },
  { name: 'update', curl: [...H, '-X', 'PUT', '{url}/v2/keys/foo?prevExist=true', '-d', 'value=three'] },
  { name: 'compare and delete: mismatch', curl: [...H, '-X', 'DELETE', '{url}/v2/keys/foo?prevValue=nope'] },
  { name: 'compare and delete', curl: [...H, '-X', 'DELETE', '{url}/v2/keys/foo?prevValue=three'] },
  { name: 'a file is not a directory', curl: [...H, '{url}/v2/keys/dir/key1/sub'] },
  { name: 'set on a directory', curl: [...H, '-X', 'PUT', '{url}/v2/keys/dir', '-d', 'value=x'] },
  { name: 'delete a directory without dir', curl: [...H, '-X', 'DELETE', '{url}/v2/keys/dir'] },
  { name: 'delete a non-empty directory', curl: [...H, '-X', 'DELETE', '{url}/v2/keys/dir?dir=true'] },
  { name: 'delete a directory recursively', curl: [...H, '-X', 'DELETE', '{url}/v2/keys/dir?recursive=true'] },
  { name: 'the root is read only', curl: [...H, '-X', 'PUT', '{url}/v2/keys/', '-d', 'value=x'] },
  { name: 'ttl not a number', curl: [...H, '-X', 'PUT', '{url}/v2/keys/x', '-d', 'value=x', '-d', 'ttl=abc'] },
  { name: 'index not a number', curl: [...H, '-X', 'PUT', '{url}/v2/keys/x?prevIndex=abc', '-d', 'value=x'] },
  { name: 'bad bool', curl: [...H, '{url}/v2/keys/x?recursive=maybe'] },
  { name: 'wait on PUT', curl: [...H, '-X', 'PUT', '{url}/v2/keys/x?wait=true', '-d', 'value=x'] },
  { name: 'empty prevValue', curl: [...H, '-X', 'PUT', '{url}/v2/keys/x?prevValue=', '-d', 'value=x'] },
  { name: 'refresh without ttl', curl: [...H, '-X', 'PUT', '{url}/v2/keys/x?refresh=true'] },
  { name: 'method not allowed', curl: [...H, '-X', 'PATCH', '{url}/v2/keys/x'] },
  { name: 'members', curl: [...H, '{url}/v2/members'] },
  { name: 'stats/self', curl: [...H, '{url}/v2/stats/self'] },
  { name: 'stats/store', curl: [...H, '{url}/v2/stats/store'] },
  { name: 'age the history', ageHistory: true },
  { name: 'waitIndex cleared', curl: [...H, '{url}/v2/keys/foo?wait=true&waitIndex=REL:1'] },
];

interface Raw { status: number; headers: Map<string, string>; body: string }

export function curl(args: string[], timeoutMs = 20_000): Promise<Raw> {
  return new Promise((res, rej) => {
    execFile('curl', args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout) => {
      if (err && !stdout) return rej(err);
      res(parseCurlI(stdout));
    });
  });
}

/** `curl -i` output: the status line, headers, a blank line, the body. */
export function parseCurlI(out: string): Raw {
  const sep = out.indexOf('\r\n\r\n');
  const head = sep < 0 ? out : out.slice(0, sep);
  const body = sep < 0 ? '' : out.slice(sep + 4);
  const lines = head.split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
  }
  return { status, headers, body };
}

/** Normalises answers: indexes relative to `base`, times, ids. */
export class Normaliser {
  constructor(readonly base: number) {}

  /** 0 (a request error's index) stays 0. */
  index(n: number): string | number {
    if (n === 0) return 0;
    return `i${n - this.base >= 0 ? '+' : ''}${n - this.base}`;
  }

  answer(raw: Raw): Answer {
    const headers: Record<string, string> = {};
    for (const h of ['x-etcd-index', 'x-raft-index', 'x-raft-term', 'x-etcd-cluster-id', 'content-type', 'allow']) {
      const v = raw.headers.get(h);
      if (v === undefined) continue;
      headers[h] = h === 'x-etcd-index' ? String(this.index(Number(v))) : ['content-type', 'allow'].includes(h) ? v : 'present';
    }
    let body: unknown = raw.body;
    try {
      body = this.value(JSON.parse(raw.body), '');
    } catch {
      /* not JSON: kept as text */
    }
    return { status: raw.status, headers, body };
  }

  private value(v: unknown, field: string): unknown {
    if (Array.isArray(v)) {
      const out = v.map((x) => this.value(x, ''));
      return field === 'nodes' ? out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : out;
    }
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = this.value(x, k);
      return o;
    }
    if (typeof v === 'number' && ['createdIndex', 'modifiedIndex', 'index'].includes(field)) return this.index(v);
    if (typeof v === 'string') {
      if (['expiration', 'startTime', 'uptime'].includes(field)) return 'TIME';
      if (['id', 'leader'].includes(field)) return 'ID';
      if (field === 'key') return v.replace(/\/(\d{20})$/, (_, d: string) => '/' + this.index(Number(d)));
      if (field === 'cause') {
        return v
          .replace(/\[(\d+) != (\d+)\]/g, (_, a: string, b: string) => `[${a} != ${this.index(Number(b))}]`)
          .replace(/cleared \[(\d+)\/(\d+)\]/, (_, a: string, b: string) => `cleared [OLDEST/${this.index(Number(b))}]`);
      }
      if (/^https?:\/\/127\.0\.0\.1:\d+$/.test(v)) return 'URL';
    }
    return v;
  }
}

export interface Target {
  url: string;
  /** Makes the history from REL:1 unavailable (see Step.ageHistory). */
  ageHistory(): Promise<void>;
}

const fill = (args: string[], t: Target, n: Normaliser): string[] =>
  args.map((a) => a.replace('{url}', t.url).replace(/REL:(\d+)/, (_, d: string) => String(n.base + Number(d))));

export async function watchers(t: Pick<Target, 'url'>): Promise<number> {
  const r = await curl(['-s', '-i', `${t.url}/v2/stats/store`]);
  return (JSON.parse(r.body) as { watchers: number }).watchers;
}

export async function runStep(t: Target, n: Normaliser, s: Step): Promise<Recorded> {
  if (s.curl) return { name: s.name, answers: [n.answer(await curl(fill(s.curl, t, n)))] };
  if (s.race) {
    const raws = await Promise.all(s.race.map((c) => curl(fill(c, t, n))));
    const answers = raws.map((r) => n.answer(r));
    // Which client wins is not fixed: the winner's value is replaced, answers sorted by status.
    for (const a of answers) {
      const node = (a.body as { node?: { value?: string } }).node;
      if (node?.value) node.value = 'WINNER';
    }
    answers.sort((a, b) => a.status - b.status);
    return { name: s.name, answers };
  }
  if (s.watch) {
    const before = await watchers(t);
    const child = spawn('curl', fill(s.watch.curl, t, n), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await waitFor('the watch to be registered', 10_000, async () => ((await watchers(t)) > before ? true : undefined), 50);
      const write = await curl(fill(s.watch.then, t, n));
      await Promise.race([exited, new Promise((_, rej) => setTimeout(() => rej(new Error('watch not woken')), 10_000))]);
      return { name: s.name, answers: [n.answer(parseCurlI(out)), n.answer(write)] };
    } finally {
      if (child.exitCode === null) child.kill();
    }
  }
  if (s.until) {
    const u = s.until;
    const raw = await waitFor(`status ${u.status}`, u.ms, async () => {
      const r = await curl(fill(u.curl, t, n));
      return r.status === u.status ? r : undefined;
    }, 250);
    return { name: s.name, answers: [n.answer(raw)] };
  }
  if (s.ageHistory) {
    await t.ageHistory();
    return { name: s.name, answers: [] };
  }
  throw new Error(`empty step ${s.name}`);
}

/** Runs every step against a member; the base index is read first. */
export async function runAll(t: Target): Promise<Recorded[]> {
  const first = await curl(['-s', '-i', `${t.url}/v2/keys/`]);
  const n = new Normaliser(Number(first.headers.get('x-etcd-index')));
  const out: Recorded[] = [];
  for (const s of STEPS) out.push(await runStep(t, n, s));
  return out;
}
