// Records etcd 3.4.23's answers to the v2 curl sequence (v2-sequence.ts), the
// ETCDCTL_API=2 etcdctl sequence (v2-etcdctl-sequence.ts) and /v2/keys without
// --enable-v2, normalised, as test/e2e/fixtures/v2-keys.json:
//   npx vite-node test/e2e/helpers/record-v2.ts [etcd|etcd-ts] [out.json]
// (etcd-ts: the same run against bin/etcd-ts, to diff by hand.)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMember, stopMember } from './etcd-process.js';
import { REPO } from './member.js';
import { curl, runAll, watchers } from './v2-sequence.js';
import { waitFor } from './cluster.js';
import { runCtlSteps } from './v2-etcdctl-sequence.js';

const impl = (process.argv[2] ?? 'etcd') as 'etcd' | 'etcd-ts';
const outFile = process.argv[3] ?? join(REPO, 'test/e2e/fixtures/v2-keys.json');

/** etcd's v2 store keeps the last 1000 events: push the start of the sequence out of it. */
async function pushOutHistory(url: string): Promise<void> {
  for (let i = 0; i < 1010; i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, j) => fetch(`${url}/v2/keys/age${j}`, { method: 'PUT', body: new URLSearchParams({ value: String(i) }) })));
  }
}

const disabled = await startMember({ impl });
let off;
try {
  off = await curl(['-s', '-i', `http://127.0.0.1:${disabled.clientPort}/v2/keys/foo`]);
} finally {
  await stopMember(disabled);
}

const m = await startMember({ impl, extraArgs: ['--enable-v2'] });
try {
  const url = `http://127.0.0.1:${m.clientPort}`;
  if (impl !== 'etcd') throw new Error('compaction-based aging is done by the e2e test; record from etcd');
  const curlAnswers = await runAll({ url, ageHistory: () => pushOutHistory(url) });
  const ctlAnswers = await runCtlSteps(
    url,
    async () => Number((await curl(['-s', '-i', `${url}/v2/keys/`])).headers.get('x-etcd-index')),
    async () => {
      await waitFor('the etcdctl watch', 10_000, async () => ((await watchers({ url })) > 0 ? true : undefined), 50);
    },
  );
  const fixture = { disabled: { status: off.status, body: off.body }, curl: curlAnswers, ctl: ctlAnswers };
  writeFileSync(outFile, JSON.stringify(fixture, null, 1) + '\n');
  process.stdout.write(`wrote ${outFile}\n`);
} finally {
  await stopMember(m);
}
