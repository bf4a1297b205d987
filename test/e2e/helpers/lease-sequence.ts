// The etcdctl lease sequence of test/e2e/lease-etcdctl.test.ts, its runner and
// the normalisation applied to both etcd's and our output before comparing.
// Print fresh expectations from the real etcd 3.4 with:
//   npx vite-node test/e2e/helpers/record-lease.ts
//
// Lease ids differ between servers and runs: a step can capture the id it was
// granted under a name (A, B, …), later steps refer to it as $A, and every
// output has the id (etcdctl's %016x and JSON's decimal) replaced by <A>. The
// remaining TTL depends on timing: it is normalised to R and checked against the
// granted TTL separately. etcd lists a lease's keys in Go map order (random):
// they are sorted before comparing.

import { CtlProcess } from './ctl-process.js';
import { etcdctl } from './etcd-process.js';
import { normalise as normaliseKv } from './kv-sequence.js';
import { leaseHex } from './lease-client.js';

export type LeaseStep =
  /** One etcdctl command; `capture` names the lease id it grants. */
  | { kind: 'ctl'; args: string[]; capture?: string }
  /** A command that runs until killed (`lease keep-alive`): stopped after `lines` lines of stdout, or when it exits. */
  | { kind: 'stream'; args: string[]; lines: number }
  /** Polls `get <key>` until the key is gone (a lease expired), at most `boundMs`. */
  | { kind: 'wait-gone'; key: string; boundMs: number };

export interface Expected { cmd: string; code: number | null | 'killed'; stdout: string; stderr: string }

/** Where the sequence's watcher looks: every key of the sequence starts with it. */
export const WATCH_PREFIX = 'k';

/** How long a stream step waits, once it has its lines, for the process to exit or print more. */
const STREAM_SETTLE_MS = 300;

/** Single member, default timing: an election timeout of 1 s. */
const EXPIRY_BOUND_MS = 2_000 + 2 * 1_000 + 3_000;

export const STEPS: LeaseStep[] = [
  { kind: 'ctl', args: ['lease', 'grant', '100'], capture: 'A' },
  { kind: 'ctl', args: ['lease', 'grant', '50'], capture: 'B' },
  { kind: 'ctl', args: ['lease', 'grant', '300', '-w', 'json'], capture: 'C' },
  { kind: 'ctl', args: ['put', 'k1', 'v1', '--lease=$A'] }, // 2
  { kind: 'ctl', args: ['put', 'k2', 'v2', '--lease=$A'] }, // 3
  { kind: 'ctl', args: ['put', 'k3', 'v3', '--lease=$B'] }, // 4
  { kind: 'ctl', args: ['put', 'k4', 'v4', '--lease=$C'] }, // 5
  { kind: 'ctl', args: ['get', 'k1', '-w', 'json'] },
  { kind: 'ctl', args: ['get', 'k3', '-w', 'fields'] },
  { kind: 'ctl', args: ['lease', 'timetolive', '$A'] },
  { kind: 'ctl', args: ['lease', 'timetolive', '$A', '--keys'] },
  { kind: 'ctl', args: ['lease', 'timetolive', '$A', '--keys', '-w', 'json'] },
  { kind: 'ctl', args: ['lease', 'timetolive', '$B', '-w', 'json'] },
  { kind: 'ctl', args: ['lease', 'timetolive', '$C', '--keys', '-w', 'fields'] },
  // Soonest expiry first: B (50 s), A (100 s), C (300 s).
  { kind: 'ctl', args: ['lease', 'list'] },
  { kind: 'ctl', args: ['lease', 'list', '-w', 'json'] },
  { kind: 'ctl', args: ['lease', 'keep-alive', '--once', '$A'] },
  { kind: 'ctl', args: ['lease', 'keep-alive', '--once', '$A', '-w', 'json'] },
  { kind: 'stream', args: ['lease', 'keep-alive', '$C'], lines: 1 },
  { kind: 'stream', args: ['lease', 'keep-alive', '$B', '-w', 'json'], lines: 1 },
  // Keys move between leases: k2 to B, k1 to none, k3 deleted.
  { kind: 'ctl', args: ['put', 'k2', 'v2b', '--lease=$B'] }, // 6
  { kind: 'ctl', args: ['lease', 'timetolive', '$A', '--keys'] },
  { kind: 'ctl', args: ['lease', 'timetolive', '$B', '--keys'] },
  { kind: 'ctl', args: ['put', 'k1', 'v1b'] }, // 7
  { kind: 'ctl', args: ['del', 'k3'] }, // 8
  { kind: 'ctl', args: ['lease', 'timetolive', '$A', '--keys'] },
  { kind: 'ctl', args: ['lease', 'timetolive', '$B', '--keys', '-w', 'json'] },
  { kind: 'ctl', args: ['get', 'k', '--prefix', '-w', 'json'] },
  // Revoke: B's keys go in one revision.
  { kind: 'ctl', args: ['put', 'k5', 'v5', '--lease=$B'] }, // 9
  { kind: 'ctl', args: ['lease', 'revoke', '$B'] }, // 10: deletes k2 and k5
  { kind: 'ctl', args: ['get', 'k', '--prefix'] },
  { kind: 'ctl', args: ['lease', 'revoke', '$B'] },
  { kind: 'ctl', args: ['lease', 'timetolive', '$B'] },
  { kind: 'ctl', args: ['lease', 'timetolive', '$B', '--keys', '-w', 'json'] },
  { kind: 'ctl', args: ['lease', 'keep-alive', '--once', '$B'] },
  { kind: 'stream', args: ['lease', 'keep-alive', '$B'], lines: 1 },
  { kind: 'ctl', args: ['lease', 'timetolive', '1234'] },
  { kind: 'ctl', args: ['lease', 'revoke', '1234'] },
  { kind: 'ctl', args: ['put', 'kx', 'v', '--lease=1234'] },
  { kind: 'ctl', args: ['lease', 'grant', '9000000001'] },
  { kind: 'ctl', args: ['lease', 'grant', '9000000000'], capture: 'M' },
  { kind: 'ctl', args: ['lease', 'timetolive', '$M'] },
  { kind: 'ctl', args: ['lease', 'revoke', '$M', '-w', 'json'] },
  { kind: 'ctl', args: ['lease', 'list'] },
  { kind: 'ctl', args: ['lease', 'revoke', '$A'] }, // no keys left: no revision
  { kind: 'ctl', args: ['lease', 'revoke', '$C'] }, // 11: deletes k4
  { kind: 'ctl', args: ['lease', 'list', '-w', 'json'] },
  // Expiry: the shortest lease (1 s asked, the 2 s minimum granted); its key disappears.
  { kind: 'ctl', args: ['lease', 'grant', '1'], capture: 'E' },
  { kind: 'ctl', args: ['put', 'ke', 'expires', '--lease=$E'] }, // 12
  { kind: 'wait-gone', key: 'ke', boundMs: EXPIRY_BOUND_MS }, // 13
  { kind: 'ctl', args: ['lease', 'timetolive', '$E', '--keys'] },
  { kind: 'ctl', args: ['lease', 'list'] },
  { kind: 'ctl', args: ['get', 'k', '--prefix', '-w', 'json'] },
];

/** Label of a step, stored next to its expected output so the two lists cannot drift apart. */
export function label(s: LeaseStep): string {
  if (s.kind === 'wait-gone') return `(wait until ${s.key} is gone)`;
  return s.kind === 'stream' ? `${s.args.join(' ')} (first ${s.lines} line(s))` : s.args.join(' ');
}

/** Lease ids captured so far, by name. */
export type LeaseVars = Map<string, bigint>;

function substitute(args: string[], vars: LeaseVars): string[] {
  return args.map((a) =>
    a.replace(/\$([A-Z])/g, (_, name: string) => {
      const id = vars.get(name);
      if (id === undefined) throw new Error(`lease $${name} used before it was captured`);
      return leaseHex(id);
    }),
  );
}

function capture(stdout: string): bigint | undefined {
  const hex = /^lease ([0-9a-f]{16}) granted/m.exec(stdout);
  if (hex) return BigInt(`0x${hex[1]}`);
  const json = /"ID":(-?\d+)/.exec(stdout);
  return json ? BigInt(json[1]!) : undefined;
}

/** Remaining TTLs in an output, with the granted TTL each belongs to. */
export function remainingTtls(stdout: string): { granted: number; remaining: number }[] {
  const out: { granted: number; remaining: number }[] = [];
  for (const m of stdout.matchAll(/TTL\((\d+)s\), remaining\((-?\d+)s\)/g)) out.push({ granted: Number(m[1]), remaining: Number(m[2]) });
  for (const m of stdout.matchAll(/"ttl":(-?\d+),"granted-ttl":(\d+)/g)) {
    if (m[1] !== '-1') out.push({ granted: Number(m[2]), remaining: Number(m[1]) });
  }
  for (const m of stdout.matchAll(/"TTL" : (-?\d+)\n"GrantedTTL" : (\d+)/g)) out.push({ granted: Number(m[2]), remaining: Number(m[1]) });
  return out;
}

/**
 * Ids, ports, member/cluster ids and terms (kv-sequence's normalise), the
 * remaining TTL, and the order of a lease's keys.
 */
export function normalise(text: string, vars: LeaseVars, clientPort: number, peerPort: number): string {
  let s = text;
  for (const [name, id] of vars) s = s.replaceAll(id.toString(), `<${name}>`).replaceAll(leaseHex(id), `<${name}>`);
  s = s
    .replace(/remaining\(\d+s\)/g, 'remaining(Rs)')
    .replace(/"ttl":(\d+),"granted-ttl"/g, '"ttl":R,"granted-ttl"')
    .replace(/"TTL" : \d+\n"GrantedTTL"/g, '"TTL" : R\n"GrantedTTL"')
    .replace(/attached keys\(\[([^\]]*)\]\)/g, (_, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`)
    .replace(/"keys":\[([^\]]*)\]/g, (_, keys: string) => `"keys":[${keys.split(',').sort().join(',')}]`)
    .replace(/"Keys" : \[([^\]]*)\]/g, (_, keys: string) => `"Keys" : [${keys.split(' ').sort().join(' ')}]`);
  return normaliseKv(s, clientPort, peerPort);
}

export interface StepResult extends Expected {
  /** Raw stdout (before normalisation), for the remaining-TTL check. */
  raw: string;
}

/** Runs one step against a member; captures lease ids into `vars`. */
export async function runStep(step: LeaseStep, port: number, peerPort: number, vars: LeaseVars): Promise<StepResult> {
  let code: number | null | 'killed';
  let stdout: string;
  let stderr: string;
  if (step.kind === 'ctl') {
    const r = await etcdctl(port, substitute(step.args, vars));
    ({ code, stdout, stderr } = r);
    if (step.capture !== undefined) {
      const id = capture(stdout);
      if (id === undefined) throw new Error(`${label(step)}: no lease id in ${JSON.stringify(stdout)} / ${stderr}`);
      vars.set(step.capture, id);
    }
  } else if (step.kind === 'stream') {
    const p = CtlProcess.start(port, ['--command-timeout=5s', ...substitute(step.args, vars)]);
    try {
      await p.until(`${step.lines} line(s)`, () => p.lines().length >= step.lines || !p.running, 15_000);
      // A moment for it to exit by itself (a revoked lease) or print more than expected.
      const exited = await p.exit(STREAM_SETTLE_MS);
      code = exited === undefined ? 'killed' : exited;
    } finally {
      await p.kill();
    }
    stdout = p.stdout;
    stderr = p.stderr;
  } else {
    const start = Date.now();
    let last = '';
    for (;;) {
      const r = await etcdctl(port, ['get', step.key]);
      last = `exit ${r.code}: ${r.stdout}${r.stderr}`;
      if (r.code === 0 && r.stdout === '') break;
      if (Date.now() - start > step.boundMs) throw new Error(`${step.key} still there after ${step.boundMs} ms: ${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    code = 0;
    stdout = '';
    stderr = '';
  }
  return {
    cmd: label(step),
    code,
    stdout: normalise(stdout, vars, port, peerPort),
    stderr: normalise(stderr, vars, port, peerPort),
    raw: stdout,
  };
}

/** The last event the sequence's watcher sees: the expired lease's key deleted. */
const LAST_EVENT = 'DELETE\nke\n';

/**
 * Runs the whole sequence; `each` sees every result as it comes. Alongside, an
 * `etcdctl watch k --prefix --rev 1` (from revision 1: nothing is missed
 * however late it connects) sees every change, the deletes of revoked and
 * expired leases included; its output is returned once the last event came.
 */
export async function runSequence(
  port: number,
  peerPort: number,
  each: (i: number, r: StepResult) => void,
): Promise<{ vars: LeaseVars; watch: Expected }> {
  const vars: LeaseVars = new Map();
  const watcher = CtlProcess.start(port, ['watch', WATCH_PREFIX, '--prefix', '--rev', '1']);
  try {
    for (let i = 0; i < STEPS.length; i++) each(i, await runStep(STEPS[i]!, port, peerPort, vars));
    await watcher.until('the watcher to see the expired key deleted', () => watcher.stdout.endsWith(LAST_EVENT), 15_000).catch(() => {});
    await watcher.exit(STREAM_SETTLE_MS);
  } finally {
    await watcher.kill();
  }
  return {
    vars,
    watch: {
      cmd: `watch ${WATCH_PREFIX} --prefix --rev 1 (alongside)`,
      code: 'killed',
      stdout: normalise(watcher.stdout, vars, port, peerPort),
      stderr: normalise(watcher.stderr, vars, port, peerPort),
    },
  };
}
