import { runSeed } from './run-seed.js';
const seed = Number(process.argv[2]); const lease = process.argv[3]!;
const r = await runSeed(seed);
for (const op of r.history.operations) {
  const rq = op.request as { id?: string; lease?: string };
  if (rq.id === lease || rq.lease === lease || JSON.stringify(op.response).includes(lease)) console.log(op.id, op.client, op.member, op.call.toFixed(1), op.return === Infinity ? 'inf' : op.return.toFixed(1), JSON.stringify(op.request).slice(0, 100), JSON.stringify(op.response).slice(0, 150));
}
console.log(r.nemesis.filter(l => { const t = parseInt(l); return t > 2500 && t < 4600; }).join('\n'));
