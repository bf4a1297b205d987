// The whole-cluster deterministic simulation's short budget (npm test): three
// hundred seeds (about a minute here; SIM_SEEDS changes it), each a cluster of
// whole members under crashes, partitions, lossy links and membership changes,
// with clients and watchers, judged by the checkers. The long run is
// `npm run sim -- --seeds 100000`. A failing seed prints the command that
// replays it exactly.

import { describe, expect, it } from 'vitest';
import { checkRun } from './check-run.js';
import { runSeed } from './run-seed.js';

/** SIM_SEEDS / SIM_FROM override the budget and the first seed (e.g. to replay). */
const COUNT = Number(process.env.SIM_SEEDS ?? 300);
const FROM = Number(process.env.SIM_FROM ?? 1 + (Math.floor(Date.now() / 3_600_000) % 1000) * 1000);
/** Short runs with dense faults: more seeds in the budget, each still a few faults deep. */
const CHAOS_MS = 1500;
const FAULT_GAP_MS = 500;
/** Seeds run again with the leader lease off (ETCD_TS_LEADER_LEASE=off), the default until 2026-12-06. */
const LEASE_OFF_COUNT = Math.max(1, Math.round(COUNT / 6));

/** Runs seeds from..from+count-1 with the short budget's faults; the failures, each with the command that replays it. */
async function failingSeeds(from: number, count: number, leaderLease: boolean): Promise<{ failed: string[]; simulatedMs: number }> {
  const failed: string[] = [];
  let simulatedMs = 0;
  for (let seed = from; seed < from + count; seed++) {
    const run = await runSeed(seed, { chaosMs: CHAOS_MS, faultGapMs: FAULT_GAP_MS, leaderLease });
    simulatedMs += run.simulatedMs;
    const verdict = checkRun(run);
    if (!verdict.ok) {
      const replay = `npm run sim -- --seed ${seed} --chaos-ms ${CHAOS_MS} --fault-gap-ms ${FAULT_GAP_MS}${leaderLease ? '' : ' --no-leader-lease'}`;
      failed.push(`seed ${seed}: ${replay}\n  ${verdict.problems.slice(0, 3).join('\n  ')}`);
    }
  }
  return { failed, simulatedMs };
}

describe('whole-cluster simulation', () => {
  it('one seed gives one exact run (same seed twice: the same history hash)', async () => {
    const a = await runSeed(7, { chaosMs: 1500 });
    const b = await runSeed(7, { chaosMs: 1500 });
    expect(a.history.operations.length).toBeGreaterThan(20);
    expect(b.hash).toBe(a.hash);
  }, 60_000);

  it('the checkers fail the run when its record is tampered with (a lost watch event, a lost write, a stale read)', async () => {
    const run = await runSeed(5, { chaosMs: 2000 });
    expect(checkRun(run).problems).toEqual([]);
    // A watch response loses its first event.
    const resp = run.history.watches.flatMap((w) => w.responses).find((r) => r.events.length > 1)!;
    const dropped = resp.events.shift()!;
    expect(checkRun(run).problems.join('\n')).toMatch(/watch: .*reliable: event .* missing/);
    resp.events.unshift(dropped);
    // The event log loses the revision of an acknowledged put.
    const put = run.history.operations.find((o) => o.response.kind === 'put')!;
    const at = run.events.findIndex((e) => e.revision === (put.response as { revision: number }).revision);
    const [lost] = run.events.splice(at, 1);
    expect(checkRun(run).problems.join('\n')).toMatch(/durability: acknowledged write lost/);
    run.events.splice(at, 0, lost!);
    // A linearizable read answers an old value.
    const read = run.history.operations.find(
      (o) => o.request.kind === 'range' && !o.request.serializable && !o.request.revision && o.response.kind === 'range' && o.response.kvs.length > 0,
    )!;
    (read.response as { kvs: { value: string }[] }).kvs[0]!.value = 'stale';
    expect(checkRun(run).problems.join('\n')).toMatch(/linearizability: not linearizable/);
  }, 60_000);

  it('seeds the long run failed once pass (each a defect fixed since)', async () => {
    // 5047087: a leader cut off by a partition, not yet demoted by check-quorum,
    // answered a keep-alive "not found" for a lease the majority's new leader had
    // just granted (now: leadership is confirmed by a quorum first, or under
    // the leader lease). It was found with the lease off; it runs both ways.
    for (const seed of [5047087]) {
      for (const leaderLease of [false, true]) {
        const verdict = checkRun(await runSeed(seed, { leaderLease }));
        expect(verdict.problems, `npm run sim -- --seed ${seed}${leaderLease ? '' : ' --no-leader-lease'}`).toEqual([]);
      }
    }
  }, 60_000);

  it('with the leader lease off (ETCD_TS_LEADER_LEASE=off), seeds pass every checker', async () => {
    const { failed } = await failingSeeds(FROM, LEASE_OFF_COUNT, false);
    expect(failed, failed.join('\n')).toEqual([]);
  }, 300_000);

  it(`seeds ${FROM}..${FROM + COUNT - 1} pass every checker, and no member leads while another holds a leader lease`, async () => {
    console.log(`simulation seeds ${FROM}..${FROM + COUNT - 1} (replay one: npm run sim -- --seed S --chaos-ms ${CHAOS_MS} --fault-gap-ms ${FAULT_GAP_MS})`);
    const t0 = performance.now();
    const { failed, simulatedMs } = await failingSeeds(FROM, COUNT, true);
    const wall = (performance.now() - t0) / 1000;
    console.log(`${COUNT} seeds: ${wall.toFixed(1)} s wall, ${(simulatedMs / 1000).toFixed(0)} s simulated (${(simulatedMs / 1000 / wall).toFixed(1)}x)`);
    expect(failed, failed.join('\n')).toEqual([]);
  }, 300_000);
});
