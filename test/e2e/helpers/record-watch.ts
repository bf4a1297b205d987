// Records what the real etcd 3.4 prints for the etcdctl watch sequence and prints
// it as the EXPECTED literal of test/e2e/watch-etcdctl.test.ts.
//   npx vite-node test/e2e/helpers/record-watch.ts [etcd|etcd-ts]
import { startMember, stopMember } from './etcd-process.js';
import { runStep, STEPS, type Expected } from './watch-sequence.js';

const impl = (process.argv[2] ?? 'etcd') as 'etcd' | 'etcd-ts';
const m = await startMember({ impl });
const out: Expected[] = [];
try {
  const ep = { writer: m.clientPort, watcher: m.clientPort, caughtUp: async () => {} };
  for (const s of STEPS) out.push(await runStep(ep, s));
} finally {
  await stopMember(m);
}
const lit = (v: string) => JSON.stringify(v).replace(/\$\{/g, '\\${');
process.stdout.write('const EXPECTED: Expected[] = [\n');
for (const e of out) {
  process.stdout.write(`  { cmd: ${lit(e.cmd)}, code: ${e.code},\n    stdout: [${e.stdout.map(lit).join(', ')}],\n    stderr: ${lit(e.stderr)} },\n`);
}
process.stdout.write('];\n');
