// One fault suite run as a vitest describe block: a FaultCluster for the whole
// file, one test per round of the plan, a summary at the end (and, for a long
// run, each round's numbers as it ends and the summary on disk).
// faults.test.ts runs the plan of every fault; faults-lease-off.test.ts the
// partitions and kills with the leader lease off.

import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultCluster } from './fault-cluster.js';
import type { Fault } from './fault-kinds.js';
import { defaultEvidenceRoot, runRound, summarize, type RoundResult } from './fault-round.js';

export interface FaultSuiteOptions {
  /** What the describe block is called (the seed and round count are added). */
  title: string;
  seed: number;
  plan: Fault[];
  /** The long budget: longer rounds, numbers written as each round ends. */
  long: boolean;
  /** --snapshot-count of the members. */
  snapshotCount: number;
  /** The leader lease on every member (false: ETCD_TS_LEADER_LEASE=off). */
  leaderLease: boolean;
}

export function describeFaultSuite(opts: FaultSuiteOptions): void {
  const { seed, plan, long, snapshotCount } = opts;
  const evidenceRoot = defaultEvidenceRoot();

  describe(`${opts.title} (seed ${seed}, ${plan.length} rounds)`, () => {
    let fc: FaultCluster | undefined;
    const results: RoundResult[] = [];

    beforeAll(async () => {
      console.log(`${opts.title}: seed ${seed} (FAULT_SEED=${seed} repeats the choices), ${plan.length} rounds; evidence of failed rounds under ${evidenceRoot}`);
      fc = await FaultCluster.start({ snapshotCount, callTimeoutMs: 2_000, leaderLease: opts.leaderLease });
      // The members must really run as asked (the variable reaches them through the cluster's environment).
      for (const m of fc.members) {
        if (opts.leaderLease) expect(m.log(), `${m.name}'s log`).toContain('"msg":"leader lease on');
        else expect(m.log(), `${m.name}'s log`).not.toContain('"msg":"leader lease on');
      }
    }, 60_000);

    afterAll(async () => {
      const summary = summarize(results);
      console.log(summary);
      if (long) {
        await mkdir(evidenceRoot, { recursive: true });
        await writeFile(join(evidenceRoot, 'summary.txt'), `seed ${seed}\n${summary}\n${JSON.stringify(results, null, 1)}\n`);
        console.log(`summary written to ${join(evidenceRoot, 'summary.txt')}`);
      }
      await fc?.close();
    }, 60_000);

    plan.forEach((fault, i) => {
      it(`round ${i}: ${fault.name}`, async () => {
        if (!fc) throw new Error('the cluster did not start');
        const r = await runRound(fc, fault, i, seed + i, {
          snapshotCount,
          clients: 6,
          warmupMs: long ? 1_000 : 500,
          afterMs: long ? 1_500 : 700,
          evidenceRoot,
        });
        results.push(r);
        if (long) {
          // Each round as it ends: a run stopped early still leaves its numbers.
          await mkdir(evidenceRoot, { recursive: true });
          await appendFile(join(evidenceRoot, 'rounds.jsonl'), `${JSON.stringify(r)}\n`);
        }
        console.log(
          `round ${i} ${fault.name}: ${r.outcome?.happened ? `hit ${r.outcome.member}${r.outcome.role ? ` (${r.outcome.role})` : ''}` : 'did not happen'}, ${r.operations} ops, ${r.watchResponses} watch responses, ${r.revisions} revisions, ${(r.wallMs / 1000).toFixed(1)} s${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`,
        );
        expect(r.problems, `round ${i} ${fault.name} (seed ${r.seed}); evidence in ${r.evidence}`).toEqual([]);
        expect(r.outcome?.happened, `${fault.name} did not happen: ${r.notes.join('; ')}`).toBe(true);
      }, 120_000);
    });
  });
}
