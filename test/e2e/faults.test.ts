// The real-process fault suite (#17): a 3-member cluster of bin/etcd-ts behind a
// peer proxy, several recording clients on different members, and per round one
// fault: a failpoint `panic` at one of the places etcd's robustness suite crashes
// (the WAL save, apply, a LevelDB batch, a snapshot of its own or from the
// leader, compaction, a conf change, defrag, the leader's and a follower's send),
// a kill -9 of a random member, or a partition of one member. After each round
// the cluster is healed and settled, and the round is judged (fault-round.ts).
//
// Budgets:
//   npm test                      one round per group of faults (a fault of each
//                                 group chosen by the seed), about 2 minutes
//   npm run faults -- --rounds 20 20 rounds of every fault (FAULT_ROUNDS), then
//                                 a summary; --only <regex> narrows the faults
// FAULT_SEED fixes the seed (printed either way).

import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultCluster } from './helpers/fault-cluster.js';
import { FAULTS, type Fault } from './helpers/fault-kinds.js';
import { defaultEvidenceRoot, runRound, summarize, type RoundResult } from './helpers/fault-round.js';
import { Rng } from './helpers/fault-workload.js';

const SNAPSHOT_COUNT = 1_000;
const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 1_000_000));
const rounds = Number(process.env.FAULT_ROUNDS ?? 0);
const only = process.env.FAULT_ONLY ? new RegExp(process.env.FAULT_ONLY) : undefined;
const long = rounds > 0;

/** The short budget: one fault per group, chosen by the seed; compaction late, when there is history below it. */
function shortPlan(): Fault[] {
  const rng = new Rng(seed);
  const groups = [...new Set(FAULTS.map((f) => f.group))];
  const late = ['compaction', 'defrag'];
  const ordered = [...groups.filter((g) => !late.includes(g)), ...late];
  return ordered.map((g) => rng.pick(FAULTS.filter((f) => f.group === g)));
}

/** The long budget: every fault `rounds` times, interleaved. */
function longPlan(): Fault[] {
  const faults = FAULTS.filter((f) => !only || only.test(f.name));
  return Array.from({ length: rounds }, () => faults).flat();
}

const plan = long ? longPlan() : shortPlan().filter((f) => !only || only.test(f.name));
const evidenceRoot = defaultEvidenceRoot();

describe(`fault suite (seed ${seed}, ${plan.length} rounds)`, () => {
  let fc: FaultCluster | undefined;
  const results: RoundResult[] = [];

  beforeAll(async () => {
    console.log(`fault suite: seed ${seed} (FAULT_SEED=${seed} repeats the choices), ${plan.length} rounds; evidence of failed rounds under ${evidenceRoot}`);
    fc = await FaultCluster.start({ snapshotCount: SNAPSHOT_COUNT, callTimeoutMs: 2_000 });
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
        snapshotCount: SNAPSHOT_COUNT,
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
        `round ${i} ${fault.name}: ${r.outcome?.happened ? `hit ${r.outcome.member}` : 'did not happen'}, ${r.operations} ops, ${r.watchResponses} watch responses, ${r.revisions} revisions, ${(r.wallMs / 1000).toFixed(1)} s${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`,
      );
      expect(r.problems, `round ${i} ${fault.name} (seed ${r.seed}); evidence in ${r.evidence}`).toEqual([]);
      expect(r.outcome?.happened, `${fault.name} did not happen: ${r.notes.join('; ')}`).toBe(true);
    }, 120_000);
  });
});
