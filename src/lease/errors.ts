// Errors the lessor raises. Client-visible texts are etcd's own (clients match
// on them); `status` names the gRPC status etcd answers with, so the server can
// map a LeaseError without knowing each code.

export type LeaseErrorCode = 'not-found' | 'exists' | 'ttl-too-large' | 'not-primary' | 'expired';

export type LeaseErrorStatus = 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'OUT_OF_RANGE' | 'UNAVAILABLE';

export class LeaseError extends Error {
  readonly code: LeaseErrorCode;
  readonly status: LeaseErrorStatus;
  constructor(code: LeaseErrorCode, status: LeaseErrorStatus, message: string) {
    super(message);
    this.name = 'LeaseError';
    this.code = code;
    this.status = status;
  }
}

export const ErrLeaseNotFoundText = 'etcdserver: requested lease not found';
export const ErrLeaseExistsText = 'etcdserver: lease already exists';
export const ErrLeaseTtlTooLargeText = 'etcdserver: too large lease TTL';
// The two below never reach a client in etcd: the server reacts to them
// (forwards to the leader, or waits for the pending revoke).
export const ErrNotPrimaryText = 'lease: not a primary lessor';
export const ErrLeaseExpiredText = 'lease: lease expired, revoke pending';

export const errLeaseNotFound = (): LeaseError => new LeaseError('not-found', 'NOT_FOUND', ErrLeaseNotFoundText);
export const errLeaseExists = (): LeaseError => new LeaseError('exists', 'FAILED_PRECONDITION', ErrLeaseExistsText);
export const errLeaseTtlTooLarge = (): LeaseError => new LeaseError('ttl-too-large', 'OUT_OF_RANGE', ErrLeaseTtlTooLargeText);
/** Renew/TimeToLive on a member that is not the leader: forward to the leader. */
export const errNotPrimary = (): LeaseError => new LeaseError('not-primary', 'UNAVAILABLE', ErrNotPrimaryText);
/**
 * Renew of a lease whose deadline has passed: its revoke is on its way through
 * Raft. etcd makes the renewal wait: answer "not found" once the revoke has
 * applied, or retry at the new leader if leadership moves first.
 */
export const errLeaseExpired = (): LeaseError => new LeaseError('expired', 'UNAVAILABLE', ErrLeaseExpiredText);
