// npm run sim -- [--seeds N] [--from S] [--seed S] [--chaos-ms MS] [--fault-gap-ms MS] [--no-leader-lease]
// Runs seeds of the whole-cluster simulation one after another, checks each,
// and prints a summary: seeds run, failures with the command that replays each,
// wall time, simulated time, simulated seconds per real second.

import { checkRun } from './check-run.js';
import { runSeed } from './run-seed.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const single = arg('seed');
const from = Number(single ?? arg('from') ?? Math.floor(Date.now() / 1000) % 1_000_000);
const count = single !== undefined ? 1 : Number(arg('seeds') ?? 100);
const chaosMs = arg('chaos-ms') !== undefined ? Number(arg('chaos-ms')) : undefined;
const faultGapMs = arg('fault-gap-ms') !== undefined ? Number(arg('fault-gap-ms')) : undefined;
/** --no-leader-lease: every member runs with ETCD_TS_LEADER_LEASE=off (on is the default; --leader-lease is accepted). */
const leaderLease = !process.argv.includes('--no-leader-lease');
const over = {
  watchRealTimers: true,
  leaderLease,
  ...(chaosMs !== undefined ? { chaosMs } : {}),
  ...(faultGapMs !== undefined ? { faultGapMs } : {}),
};
const replay = (seed: number): string =>
  `npm run sim -- --seed ${seed}${chaosMs !== undefined ? ` --chaos-ms ${chaosMs}` : ''}${faultGapMs !== undefined ? ` --fault-gap-ms ${faultGapMs}` : ''}${leaderLease ? '' : ' --no-leader-lease'}`;

const started = performance.now();
let simulatedMs = 0;
const failures: { seed: number; problems: string[] }[] = [];
console.log(`simulating seeds ${from}..${from + count - 1}`);
for (let seed = from; seed < from + count; seed++) {
  let run: Awaited<ReturnType<typeof runSeed>>;
  try {
    run = await runSeed(seed, over);
  } catch (err) {
    // The harness itself threw (not a checker's verdict): a failure of this seed, and the run goes on.
    const problem = `the run threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    failures.push({ seed, problems: [problem] });
    console.log(`seed ${seed} FAILED (threw); replay: ${replay(seed)}\n  ${problem.slice(0, 2000)}`);
    continue;
  }
  const verdict = checkRun(run);
  simulatedMs += run.simulatedMs;
  if (!verdict.ok) {
    failures.push({ seed, problems: verdict.problems });
    console.log(`seed ${seed} FAILED (hash ${run.hash}); replay: ${replay(seed)}`);
    for (const p of verdict.problems.slice(0, 5)) console.log(`  ${p.slice(0, 2000)}`);
    if (single !== undefined) console.log(`nemesis:\n  ${run.nemesis.join('\n  ')}`);
  } else if (single !== undefined || (seed - from + 1) % 100 === 0) {
    const wall = (performance.now() - started) / 1000;
    console.log(`seed ${seed} ok (hash ${run.hash}); ${seed - from + 1} seeds, ${wall.toFixed(0)} s wall, ${(simulatedMs / 1000).toFixed(0)} s simulated`);
  }
}
const wallS = (performance.now() - started) / 1000;
console.log(
  `\nsummary: ${count} seeds (${from}..${from + count - 1}), ${failures.length} failed; ` +
    `wall ${wallS.toFixed(1)} s, simulated ${(simulatedMs / 1000).toFixed(1)} s, ` +
    `${(simulatedMs / 1000 / wallS).toFixed(1)} simulated s per real s, ${(count / wallS).toFixed(2)} seeds/s`,
);
for (const f of failures) console.log(`  failed seed ${f.seed}: ${replay(f.seed)}`);
process.exitCode = failures.length > 0 ? 1 : 0;
