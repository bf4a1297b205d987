// Public surface of src/lease: the lessor (lessor.ts) and what its callers need
// to wire it: ids, errors, the stored record and storage interface, and the
// revoke rate limiter. This file only re-exports.

export { Lessor, type LessorOptions, type LeaseInfo, type TimeToLive, type Checkpoint, type RestoreSummary } from './lessor.js';
export {
  LeaseError, type LeaseErrorCode, type LeaseErrorStatus,
  ErrLeaseNotFoundText, ErrLeaseExistsText, ErrLeaseTtlTooLargeText, ErrNotPrimaryText, ErrLeaseExpiredText,
} from './errors.js';
export {
  type LeaseId, type MonotonicClock, NO_LEASE, MAX_LEASE_TTL, toLeaseId, leaseIdFromRequestId, formatLeaseId, minLeaseTtl, monotonicClock,
} from './types.js';
export {
  type LeaseRecord, type LeaseStorage, noStorage, encodeLeaseRecord, decodeLeaseRecord,
  leaseStorageKey, leaseIdFromStorageKey, rawLeaseStorage,
} from './record.js';
export { RateLimiter } from './rate-limit.js';
