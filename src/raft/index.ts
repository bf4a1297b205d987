// Public surface of the Raft core. The server depends on these names only.

export type { RaftConfig, RaftLogger } from './config.js';
export { seededRandom } from './config.js';
export type { Storage } from './storage.js';
export { MemoryStorage, type MemoryStorageOptions } from './storage.js';
export { RawNode, type Status, type ProgressStatus } from './rawnode.js';
export {
  ErrProposalDropped,
  ErrCompacted,
  ErrUnavailable,
  ErrSnapOutOfDate,
  ErrSnapshotTemporarilyUnavailable,
  ErrStepLocalMsg,
} from './errors.js';
export * from './types.js';
export * from './codec.js';
export { dataBytes, isLocalMsg, isResponseMsg, isEmptySnap, isTransferCampaign } from './util.js';
export { persistedHintAllowed, readFloor } from './persisted-hint.js';
