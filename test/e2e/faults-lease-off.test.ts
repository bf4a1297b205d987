// The fault suite's partitions and kill -9s with the leader lease off
// (ETCD_TS_LEADER_LEASE=off): every keep-alive then confirms the leadership with
// a ReadIndex round of its own (leadership-confirmation.ts). faults.test.ts runs
// with the lease on, the default; this keeps the other path under real
// partitions, where a leader cut off while clients keep leases alive through it
// (and others grant and revoke through the new leader) must not renew a lease
// the new leader revoked, nor answer "not found" for one it granted: either
// fails the round's linearizability check. Half the rounds hit the leader (the
// fault picks leader or follower).
//
// npm test runs two rounds of each; `npm run faults -- --no-leader-lease --rounds N
// --only 'partition|kill'` runs a long one.

import { FAULTS } from './helpers/fault-kinds.js';
import { describeFaultSuite } from './helpers/fault-suite.js';

const ROUNDS_EACH = 2;
const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 1_000_000));
const faults = FAULTS.filter((f) => f.name === 'partition' || f.name === 'kill');
if (faults.length !== 2) throw new Error(`the fault suite has no 'partition' or no 'kill' fault: ${FAULTS.map((f) => f.name).join(', ')}`);

describeFaultSuite({
  title: 'fault suite with the leader lease off: partitions and kill -9',
  seed,
  plan: Array.from({ length: ROUNDS_EACH }, () => faults).flat(),
  long: false,
  snapshotCount: 1_000,
  leaderLease: false,
});
