// Records what etcd 3.4 (with etcdctl 3.4) answers to the membership sequence and
// prints it as the EXPECTED literal of test/e2e/membership.test.ts.
//   npx vite-node test/e2e/helpers/record-members.ts [etcd|etcd-ts]
import { Cluster } from './cluster.js';
import { MEMBER_ARGS, MemberSequence, runMemberSequence } from './member-sequence.js';

const impl = (process.argv[2] ?? 'etcd') as 'etcd' | 'etcd-ts';
const cluster = await Cluster.create({ impl, extraArgs: MEMBER_ARGS });
let seq: MemberSequence | undefined;
try {
  await cluster.start();
  seq = new MemberSequence(cluster, impl);
  await runMemberSequence(seq);
} catch (err) {
  console.error(seq?.out, err);
} finally {
  await cluster.cleanup();
  for (const m of seq?.extra ?? []) await m.cleanup();
}
const lit = (v: string) => JSON.stringify(v).replace(/\$\{/g, '\\${');
process.stdout.write('const EXPECTED: Expected[] = [\n');
for (const e of seq?.out ?? []) {
  process.stdout.write(`  { cmd: ${lit(e.cmd)}, code: ${e.code},\n    stdout: ${lit(e.stdout)},\n    stderr: ${lit(e.stderr)} },\n`);
}
process.stdout.write('];\n');
