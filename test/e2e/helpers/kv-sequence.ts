// The etcdctl command sequence of test/e2e/kv-etcdctl.test.ts, and the
// normalisation applied to both etcd's and our output before comparing.
// Run the sequence against the real etcd 3.4 and print fresh literals with:
//   npx vite-node test/e2e/helpers/record-etcd.ts
// (the member must be started with --max-request-bytes 1024: see MEMBER_ARGS).

export interface Step {
  args: string[];
  /** Fed on stdin (for `txn -i`). */
  stdin?: string;
  /** Normalise fields that cannot match a bbolt-backed etcd (endpoint status). */
  status?: boolean;
}

export interface Expected { cmd: string; code: number | null; stdout: string; stderr: string }

export const MEMBER_ARGS = ['--max-request-bytes', '1024'];

/** Label of a step, stored next to its expected output so the two lists cannot drift apart. */
export function label(s: Step): string {
  const args = s.args.map((a) => (a.length > 40 ? `${a.slice(0, 10)}…(${a.length})` : a)).join(' ');
  return s.stdin === undefined ? args : `${args} <<${JSON.stringify(s.stdin.length > 120 ? `${s.stdin.slice(0, 60)}…` : s.stdin)}`;
}

const manyOps = Array.from({ length: 129 }, (_, i) => `put t${i} v`).join('\n');

export const STEPS: Step[] = [
  { args: ['put', 'foo', 'bar'] }, // rev 2
  { args: ['put', 'foo1', 'bar1'] }, // 3
  { args: ['put', 'foo2', 'bar2'] }, // 4
  { args: ['put', 'zoo', 'z'] }, // 5
  { args: ['put', 'a', '1'] }, // 6
  { args: ['put', 'foo1', 'bar1-v2'] }, // 7
  { args: ['get', 'foo'] },
  { args: ['get', 'nothere'] },
  { args: ['get', 'foo', '--prefix'] },
  { args: ['get', 'foo', '--prefix', '--limit', '2'] },
  { args: ['get', 'foo', '--prefix', '--limit', '2', '-w', 'json'] },
  { args: ['get', 'foo1', '--from-key'] },
  { args: ['get', '', '--from-key', '--keys-only'] },
  { args: ['get', 'foo', 'foo2'] },
  { args: ['get', 'foo', '--rev', '2', '--prefix'] },
  { args: ['get', 'foo1', '--rev', '2'] },
  { args: ['get', 'foo1', '--rev', '3'] },
  ...['KEY', 'VERSION', 'CREATE', 'MODIFY', 'VALUE'].flatMap((t): Step[] => [
    { args: ['get', 'a', '--from-key', '--sort-by', t, '--order', 'ASCEND'] },
    { args: ['get', 'a', '--from-key', '--sort-by', t, '--order', 'DESCEND', '--keys-only'] },
  ]),
  { args: ['get', 'foo', '--prefix', '--order', 'DESCEND', '--keys-only'] },
  { args: ['get', 'foo', '--prefix', '--keys-only'] },
  { args: ['get', 'foo', '--prefix', '--print-value-only'] },
  { args: ['get', 'foo', '--prefix', '--keys-only', '-w', 'json'] },
  { args: ['get', 'foo1', '-w', 'json'] },
  { args: ['get', 'foo1', '-w', 'fields'] },
  { args: ['put', 'foo', 'bar-v2', '--prev-kv'] }, // 8
  { args: ['put', 'fresh', 'f', '--prev-kv'] }, // 9
  { args: ['put', 'foo', 'bar-v3', '--prev-kv', '-w', 'json'] }, // 10
  { args: ['put', 'foo', 'bar-v4', '-w', 'json'] }, // 11
  { args: ['del', 'nothere'] },
  { args: ['del', 'fresh', '--prev-kv'] }, // 12
  { args: ['del', 'foo', '--prefix', '--prev-kv', '-w', 'json'] }, // 13
  { args: ['put', 'foo', 'again'] }, // 14
  { args: ['del', 'foo', '--prefix'] }, // 15
  { args: ['put', 'm1', 'x'] }, // 16
  { args: ['put', 'm2', 'y'] }, // 17
  { args: ['del', 'm', '--from-key', '--prev-kv'] }, // 18
  { args: ['get', '', '--from-key'] },
  { args: ['put', 'k1', 'v1'] }, // 19
  { args: ['put', 'k2', 'v2'] }, // 20
  { args: ['put', 'k1', 'v1b'] }, // 21
  // etcdctl 3.4 `txn -i` without a terminal: compares, blank line, success ops, blank line, failure ops, blank line.
  { args: ['txn', '-i'], stdin: 'value("k1") = "v1b"\nversion("k1") = "2"\ncreate("k2") > "0"\nmod("k2") < "1000"\n\nput k3 v3\nget k1\ndel k2\n\nput failed yes\n\n' }, // 22
  { args: ['txn', '-i'], stdin: 'value("k1") = "nope"\n\nput never x\n\nget k1\nput k4 v4\n\n' }, // 23
  { args: ['txn', '-i', '-w', 'json'], stdin: 'version("k1") != "7"\nmod("k3") > "1"\n\nget k\nput k5 v5\n\nput never x\n\n' }, // 24
  { args: ['txn', '-i', '-w', 'json'], stdin: 'create("k1") = "999"\n\nput never x\n\nget k1\ndel k3\n\n' }, // 25
  { args: ['txn', '-i'], stdin: '\nput emptycmp ok\n\n\n' }, // 26
  // Read-only txns (ranges only: served by the member, not through the log); they write no revision.
  { args: ['txn', '-i', '-w', 'json'], stdin: 'value("k1") = "v1b"\nmod("k4") > "1"\n\nget k1\nget k k9\n\nget never\n\n' },
  { args: ['txn', '-i'], stdin: 'version("k1") = "99"\n\nget k1\n\nget k1\nget k3\n\n' },
  { args: ['txn', '-i', '-w', 'json'], stdin: 'create("k1") > "0"\n\n\n\n' },
  { args: ['get', 'k', '--prefix', '-w', 'json'] },
  { args: ['compaction', '20'] },
  { args: ['get', 'k1', '--rev', '19'] },
  { args: ['get', 'k1', '--rev', '20'] },
  { args: ['get', 'k1', '--rev', '1000'] },
  { args: ['compaction', '10'] },
  { args: ['compaction', '1000'] },
  { args: ['put', '', 'v'] },
  { args: ['get', ''] },
  { args: ['del', ''] },
  { args: ['txn', '-i'], stdin: `\n${manyOps}\n\n\n` },
  { args: ['txn', '-i'], stdin: '\nput dup 1\nput dup 2\n\n\n' },
  { args: ['txn', '-i'], stdin: '\nput dup 1\nget dup\n\n\n' }, // 27
  { args: ['put', 'big', 'x'.repeat(2000)] },
  { args: ['get', 'big'] },
  { args: ['endpoint', 'status'], status: true },
  { args: ['endpoint', 'status', '-w', 'json'], status: true },
  { args: ['endpoint', 'status', '-w', 'table'], status: true },
  { args: ['endpoint', 'health'] },
  { args: ['endpoint', 'health', '-w', 'json'] },
  { args: ['member', 'list'] },
  { args: ['member', 'list', '-w', 'json'] },
  { args: ['member', 'list', '-w', 'table'] },
];

/**
 * Replaces what legitimately differs between two runs or two implementations:
 * ports, member/cluster ids, raft terms, health timings, etcdctl's own log
 * timestamps and client ids. With `status`, also the endpoint status fields that
 * depend on the storage engine or on the server's start-up entries (see the test).
 */
export function normalise(text: string, clientPort: number, peerPort: number, status = false): string {
  let s = text
    .replaceAll(`:${clientPort}`, ':CPORT')
    .replaceAll(`:${peerPort}`, ':PPORT')
    .replace(/"ts":"[^"]*"/g, '"ts":"TS"')
    .replace(/client-[0-9a-f-]{36}/g, 'client-UUID')
    .replace(/"(cluster_id|member_id|leader|ID)":\d+/g, '"$1":ID')
    .replace(/"(raft_term|raftTerm)":\d+/g, '"$1":TERM')
    .replace(/"(ClusterID|MemberID)" : \d+/g, '"$1" : ID')
    .replace(/"RaftTerm" : \d+/g, '"RaftTerm" : TERM')
    .replace(/took = [0-9.]+[a-zµ]*s/g, 'took = T')
    .replace(/"took":"[^"]*"/g, '"took":"T"')
    // member list (simple and table): the hex member id heads the row
    .replace(/^([0-9a-f]{1,16}), (started|unstarted), /gm, 'ID, $2, ')
    .replace(/^\| ([0-9a-f]{1,16}) \| (started|unstarted) \|/gm, '| ID | $2 |')
    // tables: column widths follow the (normalised) cell contents
    .replace(/^\+[-+]+\+$/gm, '+---+')
    .replace(/^\|.*\|$/gm, (row) => row.replace(/ {2,}/g, ' '));
  if (status) {
    s = s
      // simple: endpoint, id, version, db size, leader, learner, term, index, applied index, errors
      .replace(/^(127\.0\.0\.1:CPORT), [0-9a-f]+, [^,]+, [^,]+, (true|false), (true|false), \d+, \d+, \d+, /gm, '$1, ID, VERSION, DBSIZE, $2, $3, TERM, INDEX, INDEX, ')
      .replace(/"(version)":"[^"]*"/g, '"$1":"VERSION"')
      .replace(/"(dbSize|dbSizeInUse)":\d+/g, '"$1":DBSIZE')
      .replace(/"(raftIndex|raftAppliedIndex)":\d+/g, '"$1":INDEX')
      // table rows: | endpoint | id | version | db size | leader | learner | term | index | applied | errors |
      .replace(/^\| (127\.0\.0\.1:CPORT) \|[^|]*\|[^|]*\|[^|]*\|([^|]*\|[^|]*\|)[^|]*\|[^|]*\|[^|]*\|/gm, '| $1 | ID | VERSION | DBSIZE |$2 TERM | INDEX | INDEX |');
  }
  return s;
}
