// The errors clients see. etcd's clients (clientv3, etcdctl, etcd3 on npm) match
// on the exact message text and the gRPC status code, so both are etcd's own.

import { AuthError } from '../auth/errors.js';
import { LeaseError } from '../lease/errors.js';
import { MvccError, TxnValidationError } from '../mvcc/errors.js';

/** gRPC status codes, by number, so this module needs no gRPC import. */
export const Code = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  RESOURCE_EXHAUSTED: 8,
  UNAUTHENTICATED: 16,
} as const;

export class EtcdError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}

const e = (code: number, msg: string) => () => new EtcdError(code, msg);

export const ErrEmptyKey = e(Code.INVALID_ARGUMENT, 'etcdserver: key is not provided');
export const ErrRequestTooLarge = e(Code.INVALID_ARGUMENT, 'etcdserver: request is too large');
export const ErrInvalidSortOption = e(Code.INVALID_ARGUMENT, 'etcdserver: invalid sort option');
export const ErrTooManyOps = e(Code.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request');
export const ErrDuplicateKey = e(Code.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request');
export const ErrCompacted = e(Code.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
export const ErrFutureRev = e(Code.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision');
export const ErrNoSpace = e(Code.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded');
export const ErrTooManyRequests = e(Code.RESOURCE_EXHAUSTED, 'etcdserver: too many requests');
export const ErrNoLeader = e(Code.UNAVAILABLE, 'etcdserver: no leader');
export const ErrTimeout = e(Code.UNAVAILABLE, 'etcdserver: request timed out');
export const ErrTimeoutLeaderFail = e(
  Code.UNAVAILABLE,
  'etcdserver: request timed out, possibly due to previous leader failure',
);
export const ErrStopped = e(Code.UNAVAILABLE, 'etcdserver: server stopped');
export const ErrLeaseNotFound = e(Code.NOT_FOUND, 'etcdserver: requested lease not found');

/** Maps an error from any layer to what the client must see. */
export function toEtcdError(err: unknown): EtcdError {
  if (err instanceof EtcdError) return err;
  if (err instanceof MvccError) {
    switch (err.code) {
      case 'compacted':
        return ErrCompacted();
      case 'future-rev':
        return ErrFutureRev();
      case 'key-not-found':
        return new EtcdError(Code.INVALID_ARGUMENT, 'etcdserver: key not found');
      case 'lease-not-found':
        return ErrLeaseNotFound();
      default:
        return ErrStopped();
    }
  }
  if (err instanceof LeaseError) return new EtcdError(Code[err.status], err.message);
  if (err instanceof AuthError) return new EtcdError(Code[err.status], err.message);
  if (err instanceof TxnValidationError) return new EtcdError(Code.INVALID_ARGUMENT, err.message);
  const msg = err instanceof Error ? err.message : String(err);
  return new EtcdError(Code.UNKNOWN, msg);
}
