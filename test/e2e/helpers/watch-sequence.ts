// The etcdctl watch sequence of test/e2e/watch-etcdctl.test.ts, its runner and
// the normalisation applied to etcd's and our output before comparing. Writes go
// through one member and watches through another (the same one for a single
// member). Print fresh expectations from the real etcd 3.4 with:
//   npx vite-node test/e2e/helpers/record-watch.ts
//
// A watch that runs until killed is stopped once it has printed the lines the
// step expects, plus a short settle time in which anything extra (a duplicate
// event, say) would still show up in the output.

import { etcdctl } from './etcd-process.js';
import { CtlProcess } from './ctl-process.js';

export interface Turn {
  /** Written to etcdctl's stdin (interactive mode). */
  stdin: string;
  /** Commands run through the writer after the stdin line. */
  during?: string[][];
  /** New stdout / stderr lines this turn waits for. */
  lines?: number;
  errLines?: number;
  /** Close stdin after this turn; etcdctl then exits. */
  end?: boolean;
}

export type WatchStep =
  /** A one-shot command through the writer. */
  | { kind: 'ctl'; args: string[]; stdin?: string }
  /** A watch through the watcher, killed after `lines` lines; `during` runs through the writer once it started. */
  | { kind: 'watch'; args: string[]; lines: number; during?: string[][] }
  /** A watch that ends by itself (canceled by the server). */
  | { kind: 'watch-exit'; args: string[] }
  /** `watch -i`, driven turn by turn; stdout is recorded per turn. */
  | { kind: 'interactive'; turns: Turn[] };

export interface Expected { cmd: string; code: number | null; stdout: string[]; stderr: string }

export const STEPS: WatchStep[] = [
  { kind: 'ctl', args: ['put', 'foo', 'bar'] }, // 2
  { kind: 'ctl', args: ['put', 'foo1', 'bar1'] }, // 3
  { kind: 'ctl', args: ['put', 'zoo', 'z'] }, // 4
  { kind: 'ctl', args: ['put', 'foo', 'bar2'] }, // 5
  { kind: 'ctl', args: ['del', 'foo1'] }, // 6
  { kind: 'ctl', args: ['txn', '-i'], stdin: '\nput foo2 x\nput foo3 y\n\n\n' }, // 7: one revision, two events
  { kind: 'watch', args: ['watch', 'foo', '--rev', '2'], lines: 6 },
  { kind: 'watch', args: ['watch', 'foo', '--prefix', '--rev', '1'], lines: 18 },
  { kind: 'watch', args: ['watch', 'foo', '--prefix', '--rev', '2', '--prev-kv'], lines: 22 },
  { kind: 'watch', args: ['watch', 'foo', '--rev', '2', '-w', 'json'], lines: 1 },
  { kind: 'watch', args: ['watch', 'foo', '--prefix', '--rev', '7', '-w', 'json'], lines: 1 },
  {
    kind: 'watch',
    args: ['watch', 'k', '--prefix', '--prev-kv', '--rev', '8'],
    lines: 16,
    during: [['put', 'k1', 'a'], ['put', 'k1', 'b'], ['del', 'k1'], ['put', 'k2', 'c']], // 8..11
  },
  { kind: 'watch', args: ['watch', 'k1', 'k3', '--rev', '8'], lines: 12 },
  { kind: 'watch', args: ['watch', '', '--prefix', '--rev', '10'], lines: 6 },
  { kind: 'ctl', args: ['compaction', '9'] },
  { kind: 'watch-exit', args: ['watch', 'k', '--prefix', '--rev', '5'] },
  { kind: 'watch-exit', args: ['watch', 'k', '--prefix', '--rev', '8', '-w', 'json'] },
  // At the compacted revision: its event is there, but its prev_kv (rev 8) is not.
  { kind: 'watch', args: ['watch', 'k', '--prefix', '--rev', '9', '--prev-kv'], lines: 11 },
  {
    kind: 'interactive',
    turns: [
      { stdin: 'watch k2 --rev 9\n', lines: 3 },
      { stdin: 'watch k --prefix --rev 10\n', lines: 6 },
      { stdin: 'progress\n', lines: 2 },
      { stdin: 'cancel 0\n', errLines: 1 },
      { stdin: 'watch\n', errLines: 1 },
      { stdin: '', during: [['put', 'k3', 'e']], lines: 3 }, // 12: only the prefix watcher prints
      { stdin: '', end: true, errLines: 1 },
    ],
  },
  // A future start revision: 13 is not shown, 14 is.
  { kind: 'watch', args: ['watch', 'zoo', '--rev', '14'], lines: 3, during: [['put', 'zoo', 'early'], ['put', 'zoo', 'late']] },
];

export function label(s: WatchStep): string {
  if (s.kind === 'interactive') return `watch -i <<${JSON.stringify(s.turns.map((t) => t.stdin).join(''))}`;
  const args = s.args.map((a) => (a === '' ? '""' : a)).join(' ');
  return s.kind === 'ctl' && s.stdin !== undefined ? `${args} <<${JSON.stringify(s.stdin)}` : args;
}

/** Member and cluster ids and raft terms cannot match between two clusters. */
export function normalise(s: string): string {
  return s
    .replace(/"(cluster_id|member_id)":\d+/g, '"$1":ID')
    .replace(/"raft_term":\d+/g, '"raft_term":TERM');
}

/** Time for output that should not come (a duplicate, an extra event) to show up before a watch is stopped. */
const SETTLE_MS = 300;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));

export interface Endpoints {
  /** Client port writes go through. */
  writer: number;
  /** Client port watches go through. */
  watcher: number;
  /** Waits until the watcher member has applied everything the writer has (no-op for one member). */
  caughtUp(): Promise<void>;
}

async function ctl(ep: Endpoints, args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await etcdctl(ep.writer, args, stdin);
  await ep.caughtUp();
  return r;
}

async function runDuring(ep: Endpoints, cmds: string[][] | undefined): Promise<void> {
  for (const c of cmds ?? []) {
    const r = await ctl(ep, c);
    if (r.code !== 0) throw new Error(`etcdctl ${c.join(' ')}: exit ${r.code}: ${r.stderr}`);
  }
}

/** Runs one step; returns its normalised output. */
export async function runStep(ep: Endpoints, s: WatchStep): Promise<Expected> {
  const cmd = label(s);
  if (s.kind === 'ctl') {
    const r = await ctl(ep, s.args, s.stdin);
    return { cmd, code: r.code, stdout: [normalise(r.stdout)], stderr: normalise(r.stderr) };
  }
  if (s.kind === 'watch-exit') {
    const w = CtlProcess.start(ep.watcher, s.args, { stdin: true });
    const code = await w.exitOrKill();
    return { cmd, code, stdout: [normalise(w.stdout)], stderr: normalise(w.stderr) };
  }
  if (s.kind === 'watch') {
    const w = CtlProcess.start(ep.watcher, s.args, { stdin: true });
    try {
      await runDuring(ep, s.during);
      await w.until(`${s.lines} lines of ${cmd}`, () => w.lineCount() >= s.lines);
      await settle();
    } finally {
      await w.kill();
    }
    return { cmd, code: null, stdout: [normalise(w.stdout)], stderr: normalise(w.stderr) };
  }
  const w = CtlProcess.start(ep.watcher, ['watch', '-i'], { stdin: true });
  const chunks: string[] = [];
  let code: number | null = null;
  try {
    let seen = 0;
    for (const t of s.turns) {
      const lines = w.lineCount() + (t.lines ?? 0);
      const errLines = w.stderr.split('\n').length - 1 + (t.errLines ?? 0);
      if (t.stdin) w.write(t.stdin);
      await runDuring(ep, t.during);
      if (t.end) {
        w.endInput();
        code = await w.exitOrKill();
      } else {
        await w.until(`turn ${JSON.stringify(t.stdin)}`, () => w.lineCount() >= lines && w.stderr.split('\n').length - 1 >= errLines);
        await settle();
      }
      chunks.push(normalise(w.stdout.slice(seen)));
      seen = w.stdout.length;
    }
  } finally {
    await w.kill();
  }
  return { cmd, code, stdout: chunks, stderr: normalise(w.stderr) };
}
