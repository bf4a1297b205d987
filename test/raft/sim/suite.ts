// Registers the simulation seeds as vitest cases, in chunks so the worker stays
// responsive and progress is visible. RAFT_SEEDS=N runs N seeds per group size,
// RAFT_SEED=S replays one seed, RAFT_STEPS changes the fault-phase length,
// RAFT_SEED_BASE shifts the seed range.

import { describe, expect, it } from 'vitest';
import { runSim } from './sim.js';

const CHUNK = 50;

export function simSuite(voters: number, defaultSeeds: number): void {
  const replay = process.env.RAFT_SEED !== undefined ? Number(process.env.RAFT_SEED) : undefined;
  const seeds = Number(process.env.RAFT_SEEDS ?? defaultSeeds);
  const steps = Number(process.env.RAFT_STEPS ?? 250);
  const base = Number(process.env.RAFT_SEED_BASE ?? 0) + voters * 100_000;
  const all = replay !== undefined ? [replay] : Array.from({ length: seeds }, (_, i) => base + i + 1);
  describe(`simulation, ${voters} voters`, () => {
    for (let c = 0; c < all.length; c += CHUNK) {
      const list = all.slice(c, c + CHUNK);
      it(`seeds ${list[0]}..${list[list.length - 1]}: safety under faults, liveness after healing`, async () => {
        // Yield to the event loop between chunks so the worker can talk to vitest.
        await new Promise((resolve) => setTimeout(resolve, 0));
        let commits = 0;
        let leaders = 0;
        for (const seed of list) {
          try {
            const r = runSim({ seed, voters, steps });
            commits += r.commits;
            leaders += r.leaders;
          } catch (e) {
            console.error(
              `${(e as Error).message}\nreplay: RAFT_SEED=${seed} npx vitest run test/raft/sim${voters === 5 ? '5' : ''}.test.ts`,
            );
            throw e;
          }
        }
        expect(commits).toBeGreaterThan(list.length * 10);
        expect(leaders).toBeGreaterThanOrEqual(list.length);
      }, 600_000);
    }
  });
}
