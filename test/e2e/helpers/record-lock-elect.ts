// Records what etcdctl 3.4 prints for the lock/elect sequence against etcd
// 3.4.23 (3 members) into test/e2e/fixtures/lock-elect-etcdctl.json.
//   npx vite-node test/e2e/helpers/record-lock-elect.ts [etcd|etcd-ts] [out.json]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from './cluster.js';
import { runLockElectSequence } from './lock-elect-sequence.js';
import { REPO } from './member.js';

const impl = (process.argv[2] ?? 'etcd') as 'etcd' | 'etcd-ts';
const out = process.argv[3] ?? join(REPO, 'test/e2e/fixtures/lock-elect-etcdctl.json');
const cluster = await Cluster.create({ impl });
try {
  await cluster.start();
  const steps = await runLockElectSequence(cluster.endpoints());
  writeFileSync(out, JSON.stringify(steps, null, 1) + '\n');
} finally {
  await cluster.cleanup();
}
process.exit(0);
