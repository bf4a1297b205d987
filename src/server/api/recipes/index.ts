// The lock and election recipes the Lock and Election services run (see ports.ts).
export type { EventBatch, EventFeed, KeyEvents, RecipeContext, RecipePorts } from './ports.js';
export { hubEvents, recipePorts } from './hub-events.js';
export { lock, unlock, type Held } from './mutex.js';
export {
  campaign, proclaim, resign, leader, observe, type Leadership,
  ErrElectionNoLeader, ErrElectionNotLeader, ErrMissingLeaderKey,
} from './election.js';
