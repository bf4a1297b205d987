// The fault suite's partitions and kill -9s with the leader lease on
// (ETCD_TS_LEADER_LEASE=on, src/server/leader-lease.ts). The lease lets a
// leader renew keep-alives without asking a quorum; a partition that cuts the
// leader off while clients keep leases alive through it (and others grant and
// revoke through the new leader) is where a lease that outlived its promise
// would show: a renewal answered by the old leader for a lease the new one has
// revoked, or "not found" for one it granted, fails the round's linearizability
// check. Half the rounds hit the leader (the fault picks leader or follower).
//
// npm test runs two rounds of each; `npm run faults -- --leader-lease --rounds N
// --only 'partition|kill'` runs a long one.

import { FAULTS } from './helpers/fault-kinds.js';
import { describeFaultSuite } from './helpers/fault-suite.js';

const ROUNDS_EACH = 2;
const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 1_000_000));
const faults = FAULTS.filter((f) => f.name === 'partition' || f.name === 'kill');
if (faults.length !== 2) throw new Error(`the fault suite has no 'partition' or no 'kill' fault: ${FAULTS.map((f) => f.name).join(', ')}`);

describeFaultSuite({
  title: 'fault suite with the leader lease: partitions and kill -9',
  seed,
  plan: Array.from({ length: ROUNDS_EACH }, () => faults).flat(),
  long: false,
  snapshotCount: 1_000,
  leaderLease: true,
});
