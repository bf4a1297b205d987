// Rough v2 timings on 3 members (ours or etcd 3.4.23): sequential PUTs, then
// 50 concurrent POSTs and 50 concurrent prevExist=false creates on one key,
// spread over the members. npx vite-node test/e2e/helpers/v2-measure.ts [etcd|etcd-ts]
import { Cluster } from './cluster.js';

const impl = (process.argv[2] ?? 'etcd-ts') as 'etcd' | 'etcd-ts';
const cluster = await Cluster.create({ impl, extraArgs: ['--enable-v2'] });
try {
  await cluster.start();
  const urls = cluster.members.map((m) => m.clientUrl);
  const put = (u: string, path: string, body: Record<string, string>, method = 'PUT') =>
    fetch(`${u}/v2/keys${path}`, { method, body: new URLSearchParams(body) }).then((r) => r.status);
  for (let i = 0; i < 20; i++) await put(urls[0]!, `/warm${i}`, { value: 'x' });
  const lat: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await put(urls[i % 3]!, `/seq${i}`, { value: 'x' });
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  let t = performance.now();
  const posts = await Promise.all(Array.from({ length: 50 }, (_, i) => put(urls[i % 3]!, '/q', { value: `${i}` }, 'POST')));
  const postMs = performance.now() - t;
  t = performance.now();
  const locks = await Promise.all(Array.from({ length: 50 }, (_, i) => put(`${urls[i % 3]!}`, '/lock?prevExist=false', { value: `${i}` })));
  const lockMs = performance.now() - t;
  console.log(JSON.stringify({
    impl, seqPutMedianMs: lat[100]!.toFixed(1), seqPutP90Ms: lat[180]!.toFixed(1),
    post50Ms: postMs.toFixed(0), post201: posts.filter((s) => s === 201).length,
    lock50Ms: lockMs.toFixed(0), lockWinners: locks.filter((s) => s === 201).length, lock412: locks.filter((s) => s === 412).length,
  }));
} finally {
  await cluster.cleanup();
}
