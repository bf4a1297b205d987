import { it } from 'vitest';
import { checkLinearizable } from './linearizability.js';
import { randomHistory } from './fixtures.js';
it('perf', () => {
  for (const [n, u, s] of [[3000, 0.02, 40], [3000, 0.02, 40], [3000, 0.02, 40], [3000, 0, 200]] as const) {
    const { ops } = randomHistory(7, n, { unknownRate: u, spread: s });
    const t0 = performance.now();
    const r = checkLinearizable(ops);
    console.log(n, u, s, r.ok, r.steps, (performance.now() - t0).toFixed(0), 'ms');
  }
});
