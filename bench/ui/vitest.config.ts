// The dashboard bench (bench/ui-responsive.sh) runs under vitest so it can share the
// e2e helpers (cluster per block, browser per file); it is not part of `npm test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/ui/*.e2e.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
  },
});
