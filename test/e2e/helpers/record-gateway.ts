// Records what etcd 3.4.23's JSON gateway answers to the gateway steps on a
// 3-member cluster into test/e2e/fixtures/gateway.json.
//   npx vite-node test/e2e/helpers/record-gateway.ts [etcd|etcd-ts] [out.json]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from './cluster.js';
import { ALL_STEPS, runGatewaySequence } from './gateway-sequence.js';
import { REPO } from './member.js';

const impl = (process.argv[2] ?? 'etcd') as 'etcd' | 'etcd-ts';
const out = process.argv[3] ?? join(REPO, 'test/e2e/fixtures/gateway.json');
const cluster = await Cluster.create({ impl });
try {
  await cluster.start();
  const steps = await runGatewaySequence(cluster, ALL_STEPS);
  writeFileSync(out, JSON.stringify(steps, null, 1) + '\n');
} finally {
  await cluster.cleanup();
}
