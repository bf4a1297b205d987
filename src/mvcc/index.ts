// Public surface of src/mvcc. The ordered key index lives in tree-index.ts
// (etcd's treeIndex); this file only re-exports.

export { MvccStore, type EventListener, type HashKVResult } from './kv-store.js';
export {
  MvccError, TxnValidationError, StorageFailure, type MvccErrorCode, type ValidationErrorCode,
  ErrCompactedText, ErrFutureRevText, ErrKeyNotFoundText, ErrEmptyKeyText, ErrTooManyOpsText,
  ErrDuplicateKeyText, ErrValueProvidedText, ErrLeaseProvidedText,
} from './errors.js';
export { validateTxn, validatePut, validateKey, isTxnReadonly } from './txn.js';
export { encodeKeyValue, decodeKeyValue } from './kv-codec.js';
export * from './types.js';
export type { KvDb, OpenDb, BatchOp, DbRange, DbIterator, DbList, DbSnapshot, StagedBatch } from './db.js';
export { StateImageError, type ImageSummary } from './state-format.js';
export type { ExportOptions, RestoreOptions } from './state-transfer.js';
export { replaceStoreDir, recoverStoreDir, type StoreDirRecovery, type RecoverOptions } from './store-dir.js';
export { WatchHub, type WatchHubOptions, type WatchHubStats, type HubStore } from './watch-hub.js';
export {
  WatchStream, WatchError, AUTO_WATCH_ID, INVALID_WATCH_ID, type WatchRequest as MvccWatchRequest,
  ErrEmptyWatcherRangeText, ErrWatcherDuplicateIdText,
} from './watch-stream.js';
export type { WatchResponse as MvccWatchResponse, WatchSink, WatchFilters } from './watcher.js';
export { EVENT_OVERHEAD_BYTES } from './event-reader.js';
export type { StoreView } from './store-view.js';
export { REV_PREFIX, META_CONSISTENT_INDEX, META_SCHEDULED_COMPACT, META_FINISHED_COMPACT } from './keyspace.js';
export { ALARM_PREFIX, LEASE_PREFIX, AUTH_ROLE_PREFIX, AUTH_USER_PREFIX, META_AUTH_ENABLED, META_AUTH_REVISION } from './keyspace.js';
