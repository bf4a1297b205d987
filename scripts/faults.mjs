// npm run faults -- --rounds N [--only REGEX] [--seed N] [--no-leader-lease]
// Runs the real-process fault suite (test/e2e/faults.test.ts) with N rounds of
// every fault and prints its summary; failed rounds keep their evidence under
// $TMPDIR/etcd-ts-faults-<pid>/ (the summary says where). --no-leader-lease starts
// the members with ETCD_TS_LEADER_LEASE=off (the lease is on by default;
// --leader-lease is accepted).
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const env = { ...process.env };
for (let i = 0; i < args.length; i++) {
  const [flag, value] = [args[i], args[i + 1]];
  if (flag === '--leader-lease' || flag === '--no-leader-lease') {
    env.FAULT_LEADER_LEASE = flag === '--leader-lease' ? 'on' : 'off';
    continue;
  }
  if (flag === '--rounds') env.FAULT_ROUNDS = value;
  else if (flag === '--only') env.FAULT_ONLY = value;
  else if (flag === '--seed') env.FAULT_SEED = value;
  else {
    console.error(`faults: unknown argument ${flag} (want --rounds N, --only REGEX, --seed N, --no-leader-lease)`);
    process.exit(2);
  }
  i++;
}
if (!env.FAULT_ROUNDS || !(Number(env.FAULT_ROUNDS) > 0)) env.FAULT_ROUNDS = '1';
const r = spawnSync('npx', ['vitest', 'run', 'test/e2e/faults.test.ts', '--testTimeout', '180000'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
