import { describe, expect, it } from 'vitest';
import { runSim } from './sim.js';

export function simSuite(voters: number): void {
  const replay = process.env.RAFT_SEED !== undefined ? Number(process.env.RAFT_SEED) : undefined;
  const seeds = Number(process.env.RAFT_SEEDS ?? 1500);
  const steps = Number(process.env.RAFT_STEPS ?? 300);
  const base = Number(process.env.RAFT_SEED_BASE ?? 0);
  describe(`simulation, ${voters} voters`, () => {
    it(`${replay !== undefined ? `seed ${replay}` : `${seeds} seeds`}: safety under faults, liveness after healing`, () => {
      const list = replay !== undefined ? [replay] : Array.from({ length: seeds }, (_, i) => base + i + 1 + voters * 100_000);
      let commits = 0;
      let leaders = 0;
      for (const seed of list) {
        try {
          const r = runSim({ seed, voters, steps });
          commits += r.commits;
          leaders += r.leaders;
        } catch (e) {
          console.error(`${(e as Error).message}\nreplay: RAFT_SEED=${seed} npx vitest run test/raft/sim${voters === 5 ? '5' : ''}.test.ts`);
          throw e;
        }
      }
      expect(commits).toBeGreaterThan(list.length * 10);
      expect(leaders).toBeGreaterThanOrEqual(list.length);
    }, 900_000);
  });
}
