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
// FAULT_SEED fixes the seed (printed either way); FAULT_LEADER_LEASE=off (npm run
// faults -- --no-leader-lease) starts the members with ETCD_TS_LEADER_LEASE=off.

import { FAULTS, type Fault } from './helpers/fault-kinds.js';
import { describeFaultSuite } from './helpers/fault-suite.js';
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
const leaderLease = process.env.FAULT_LEADER_LEASE !== 'off';

describeFaultSuite({
  title: `fault suite${leaderLease ? '' : ' with the leader lease off'}`,
  seed,
  plan,
  long,
  snapshotCount: SNAPSHOT_COUNT,
  leaderLease,
});
