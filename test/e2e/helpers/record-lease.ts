// Records what the real etcd 3.4 prints for the lease-etcdctl sequence and prints
// it as the EXPECTED literal of test/e2e/lease-etcdctl.test.ts.
//   npx vite-node test/e2e/helpers/record-lease.ts [etcd|etcd-ts]
import { startMember, stopMember } from './etcd-process.js';
import { runSequence, type Expected } from './lease-sequence.js';

const impl = (process.argv[2] ?? 'etcd') as 'etcd' | 'etcd-ts';
const m = await startMember({ impl });
const out: Expected[] = [];
let watch: Expected;
try {
  ({ watch } = await runSequence(m.clientPort, m.peerPort, (_i, r) => {
    const { raw: _raw, ...e } = r;
    out.push(e);
  }));
} finally {
  await stopMember(m);
}
const lit = (v: string) => JSON.stringify(v).replace(/\$\{/g, '\\${');
const code = (c: Expected['code']) => (c === 'killed' ? "'killed'" : String(c));
process.stdout.write('const EXPECTED: Expected[] = [\n');
for (const e of out) {
  process.stdout.write(`  { cmd: ${lit(e.cmd)}, code: ${code(e.code)},\n    stdout: ${lit(e.stdout)},\n    stderr: ${lit(e.stderr)} },\n`);
}
process.stdout.write('];\n\n');
process.stdout.write(`const EXPECTED_WATCH: Expected = { cmd: ${lit(watch.cmd)}, code: ${code(watch.code)},\n  stdout: ${lit(watch.stdout)},\n  stderr: ${lit(watch.stderr)} };\n`);
