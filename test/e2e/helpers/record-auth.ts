// Records what etcd 3.4 (with etcdctl 3.4) answers to the auth sequence on a
// 3-member cluster into test/e2e/fixtures/auth-etcdctl.json.
//   npx vite-node test/e2e/helpers/record-auth.ts [etcd|etcd-ts] [out.json]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from './cluster.js';
import { runAuthSequence } from './auth-sequence.js';
import { REPO } from './member.js';

const impl = (process.argv[2] ?? 'etcd') as 'etcd' | 'etcd-ts';
const out = process.argv[3] ?? join(REPO, 'test/e2e/fixtures/auth-etcdctl.json');
const cluster = await Cluster.create({ impl });
try {
  await cluster.start();
  const expected = await runAuthSequence(cluster);
  writeFileSync(out, JSON.stringify(expected, null, 1) + '\n');
} finally {
  await cluster.cleanup();
}
