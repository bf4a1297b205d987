// The users/roles/permissions sequence test/e2e/auth-etcdctl.test.ts runs with the
// official etcdctl against a 3-member cluster — bin/etcd-ts, or the real etcd
// (record-auth.ts records the latter into fixtures/auth-etcdctl.json). Steps go to
// the members in turn, so most requests are forwarded to the leader and tokens are
// used on members that did not issue them. Outputs are normalised: ports, lease
// ids, etcdctl's log timestamps and client ids.

import type { Cluster } from './cluster.js';
import { etcdctl } from './etcd-process.js';

export interface Step {
  args: string[];
  stdin?: string;
}

export interface Expected {
  cmd: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

const R = ['--user', 'root:rootpw'];
const A = ['--user', 'alice:apw'];
const B = ['--user', 'bob:bpw'];
const step = (...args: string[]): Step => ({ args });

export const STEPS: Step[] = [
  // --- before auth: users and roles, and their refusals
  step('auth', 'enable'),
  step('user', 'add', 'root:rootpw'),
  step('user', 'add', 'alice:apw'),
  step('user', 'add', 'bob:bpw'),
  step('user', 'add', 'carol', '--no-password'),
  step('user', 'add', 'alice:other'),
  step('user', 'add', ':x'),
  step('role', 'add', 'r1'),
  step('role', 'add', 'r1'),
  step('role', 'add', 'r2'),
  step('role', 'grant-permission', 'r1', 'readwrite', 'foo'),
  step('role', 'grant-permission', 'r1', 'read', 'pre/', '--prefix'),
  step('role', 'grant-permission', 'r1', 'write', 'z', '--from-key'),
  step('role', 'grant-permission', 'r1', 'read', 'z', '--from-key'),
  step('role', 'grant-permission', 'r1', 'write', 'z', '--from-key'),
  step('role', 'grant-permission', 'r2', 'read', 'a', 'c'),
  step('role', 'grant-permission', 'nope', 'read', 'x'),
  step('role', 'get', 'r1'),
  step('role', 'get', 'r2'),
  step('role', 'get', 'nope'),
  step('role', 'list'),
  step('user', 'grant-role', 'alice', 'r1'),
  step('user', 'grant-role', 'alice', 'r1'),
  step('user', 'grant-role', 'bob', 'r2'),
  step('user', 'grant-role', 'alice', 'nope'),
  step('user', 'grant-role', 'nobody', 'r1'),
  step('user', 'get', 'alice'),
  step('user', 'get', 'alice', '--detail'),
  step('user', 'get', 'nobody'),
  step('user', 'list'),
  step('user', 'list', '-w', 'json'),
  step('put', 'foo', 'v0'),
  // --- auth on (etcdctl adds the root role and grants it to root itself)
  step('auth', 'enable'),
  step('auth', 'enable', ...R),
  step('get', 'foo'),
  step('put', 'foo', 'x'),
  step('get', 'foo', '--user', 'alice:wrong'),
  step('get', 'foo', '--user', 'nobody:x'),
  step('get', 'foo', '--user', 'carol:x'),
  // --- KV as a user with and without permission
  step('put', 'foo', 'v1', ...A),
  step('get', 'foo', ...A),
  step('get', 'foo', '-w', 'json', ...A),
  step('put', 'bar', 'x', ...A),
  step('get', 'bar', ...A),
  step('get', 'pre/', '--prefix', ...A),
  step('put', 'pre/1', 'x', ...A),
  step('put', 'pre/1', 'x', ...R),
  step('get', 'pre/', '--prefix', ...A),
  step('get', 'pre', '--prefix', ...A),
  step('put', 'zebra', '1', ...A),
  step('get', 'zebra', ...A),
  step('get', 'z', '--from-key', ...A),
  step('get', 'y', '--from-key', ...A),
  step('get', 'foo', '--from-key', ...A),
  step('del', 'zebra', ...A),
  step('del', 'zebra', '--prev-kv', ...A),
  step('put', 'foo', 'v2', '--prev-kv', ...A),
  step('get', 'a', 'c', ...B),
  step('get', 'a', 'd', ...B),
  step('get', 'b', ...B),
  step('get', 'foo', ...B),
  step('put', 'b', '1', ...B),
  { args: ['txn', ...A], stdin: 'value("foo") = "v2"\n\nput foo v3\n\nget foo\n\n' },
  { args: ['txn', ...A], stdin: 'value("foo") = "v3"\n\nput bar x\n\n\n' },
  { args: ['txn', ...A], stdin: 'value("bar") = "x"\n\nput foo v4\n\n\n' },
  { args: ['txn', ...A], stdin: '\nput foo v4\n\nget pre/1\n\n' },
  step('get', 'foo', ...R),
  // A watch the user may not read is canceled at once (etcdctl then exits).
  step('watch', 'foo', ...B),
  step('watch', 'a', 'd', ...B),
  step('compaction', '2', ...A),
  step('get', 'foo', '--user', 'root:rootpw', '--consistency=s'),
  // --- admin-only RPCs
  step('user', 'list', ...A),
  step('role', 'list', ...A),
  step('user', 'get', 'alice', ...A),
  step('user', 'get', 'bob', ...A),
  step('role', 'get', 'r1', ...A),
  step('role', 'get', 'r2', ...A),
  step('user', 'add', 'eve:e', ...A),
  step('role', 'add', 'r3', ...A),
  step('auth', 'disable', ...A),
  step('defrag', ...A),
  step('endpoint', 'hashkv', ...A),
  step('member', 'add', 'x', '--peer-urls=http://127.0.0.1:1', ...A),
  step('user', 'list', ...R),
  step('role', 'list', ...R),
  // --- leases as a user
  step('lease', 'grant', '100', ...A),
  step('put', 'foo', 'leased', '--lease=$LEASE', ...A),
  step('put', 'bar', 'x', '--lease=$LEASE', ...R),
  step('put', 'foo', 'leased2', '--lease=$LEASE', ...A),
  step('lease', 'timetolive', '$LEASE', ...B),
  step('lease', 'revoke', '$LEASE', ...B),
  step('lease', 'revoke', '$LEASE', ...A),
  step('lease', 'revoke', '$LEASE', ...R),
  step('get', 'foo', ...R),
  step('lease', 'grant', '100', ...B),
  // --- the root rules while auth is on
  step('user', 'delete', 'root', ...R),
  step('role', 'delete', 'root', ...R),
  step('user', 'revoke-role', 'root', 'root', ...R),
  // --- passwords, revocations, deletions
  { args: ['user', 'passwd', 'alice', '--interactive=false', ...R], stdin: 'apw2\n' },
  step('get', 'foo', ...A),
  step('get', 'foo', '--user', 'alice:apw2'),
  step('user', 'revoke-role', 'alice', 'r1', ...R),
  step('user', 'revoke-role', 'alice', 'r1', ...R),
  step('get', 'foo', '--user', 'alice:apw2'),
  step('role', 'revoke-permission', 'r1', 'foo', ...R),
  step('role', 'revoke-permission', 'r1', 'foo', ...R),
  step('role', 'revoke-permission', 'r1', 'pre/', '--prefix', ...R),
  step('role', 'revoke-permission', 'r1', 'z', '--from-key', ...R),
  step('role', 'revoke-permission', 'nope', 'z', ...R),
  step('role', 'get', 'r1', ...R),
  step('role', 'delete', 'r2', ...R),
  step('role', 'delete', 'r2', ...R),
  step('user', 'get', 'bob', ...R),
  step('user', 'delete', 'bob', ...R),
  step('user', 'delete', 'bob', ...R),
  step('user', 'list', ...R),
  step('auth', 'disable', ...R),
  step('auth', 'disable'),
  step('get', 'foo'),
  step('user', 'delete', 'root'),
  step('auth', 'enable'),
];

/** The command line as the fixtures show it. */
export function label(s: Step): string {
  return s.args.join(' ');
}

/** Replaces what differs between runs and implementations: ports, lease ids, etcdctl's timestamps and client ids. */
export function normalise(text: string, cluster: Cluster, lease: string | undefined): string {
  let s = text;
  for (const m of cluster.members) s = s.replaceAll(`:${m.clientPort}`, `:${m.name}-CPORT`).replaceAll(`:${m.peerPort}`, `:${m.name}-PPORT`);
  if (lease) s = s.replaceAll(lease, 'LEASE').replaceAll(BigInt(`0x${lease}`).toString(), 'LEASE');
  return s
    .replace(/^lease [0-9a-f]+ granted/gm, 'lease OTHER granted')
    .replace(/"ts":"[^"]*"/g, '"ts":"TS"')
    .replace(/client-[0-9a-f-]{36}/g, 'client-UUID')
    .replace(/"(cluster_id|member_id)":\d+/g, '"$1":ID')
    .replace(/"raft_term":\d+/g, '"raft_term":TERM');
}

/** Runs every step, member after member, and returns what etcdctl printed, normalised. */
export async function runAuthSequence(cluster: Cluster): Promise<Expected[]> {
  const out: Expected[] = [];
  let lease: string | undefined;
  for (let i = 0; i < STEPS.length; i++) {
    const s = STEPS[i]!;
    const m = cluster.members[i % cluster.members.length]!;
    const args = s.args.map((a) => (lease ? a.replace('$LEASE', lease) : a));
    const r = await etcdctl(m.clientPort, args, s.stdin ?? '');
    const granted = /^lease ([0-9a-f]+) granted/.exec(r.stdout);
    if (granted && !lease) lease = granted[1];
    out.push({ cmd: label(s), code: r.code, stdout: normalise(r.stdout, cluster, lease), stderr: normalise(r.stderr, cluster, lease) });
  }
  return out;
}
