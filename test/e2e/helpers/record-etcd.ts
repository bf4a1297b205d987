// Records what the real etcd 3.4 prints for the kv-etcdctl sequence and prints it
// as the EXPECTED literal of test/e2e/kv-etcdctl.test.ts.
//   npx vite-node test/e2e/helpers/record-etcd.ts [etcd|etcd-ts]
import { etcdctl, startMember, stopMember } from './etcd-process.js';
import { label, MEMBER_ARGS, normalise, STEPS, type Expected } from './kv-sequence.js';

const impl = (process.argv[2] ?? 'etcd') as 'etcd' | 'etcd-ts';
const m = await startMember({ impl, extraArgs: MEMBER_ARGS });
const out: Expected[] = [];
try {
  for (const s of STEPS) {
    const r = await etcdctl(m.clientPort, s.args, s.stdin ?? '');
    out.push({
      cmd: label(s),
      code: r.code,
      stdout: normalise(r.stdout, m.clientPort, m.peerPort, s.status),
      stderr: normalise(r.stderr, m.clientPort, m.peerPort, s.status),
    });
  }
} finally {
  await stopMember(m);
}
const lit = (v: string) => JSON.stringify(v).replace(/\$\{/g, '\\${');
process.stdout.write('const EXPECTED: Expected[] = [\n');
for (const e of out) {
  process.stdout.write(`  { cmd: ${lit(e.cmd)}, code: ${e.code},\n    stdout: ${lit(e.stdout)},\n    stderr: ${lit(e.stderr)} },\n`);
}
process.stdout.write('];\n');
