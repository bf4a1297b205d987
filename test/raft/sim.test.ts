// Randomized simulation over many seeds (3 voters here, 5 in sim5.test.ts so the two
// run in parallel). RAFT_SEEDS=N runs N seeds per group; RAFT_SEED=S replays one seed.

import { simSuite } from './sim/suite.js';

simSuite(3, 1500);
