// Error texts are matched by clients (clientv3, etcdctl) on the message, so they
// are copied verbatim from etcd. The gRPC layer maps `code` to a status code.

export type MvccErrorCode = 'compacted' | 'future-rev' | 'key-not-found' | 'lease-not-found' | 'closed';

export class MvccError extends Error {
  readonly code: MvccErrorCode;
  constructor(code: MvccErrorCode, message: string) {
    super(message);
    this.name = 'MvccError';
    this.code = code;
  }
}

/**
 * The disk failed under the store (a LevelDB write, or a read a write needed).
 * Environmental, never a request's answer: the store accepts no more writes and
 * the member must stop, since its peers applied the entry and it could not.
 */
export class StorageFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageFailure';
  }
}

export const ErrCompactedText = 'mvcc: required revision has been compacted';
export const ErrFutureRevText = 'mvcc: required revision is a future revision';
export const ErrKeyNotFoundText = 'etcdserver: key not found';
export const ErrLeaseNotFoundText = 'etcdserver: requested lease not found';

export const errCompacted = (): MvccError => new MvccError('compacted', ErrCompactedText);
export const errFutureRev = (): MvccError => new MvccError('future-rev', ErrFutureRevText);
export const errKeyNotFound = (): MvccError => new MvccError('key-not-found', ErrKeyNotFoundText);
export const errLeaseNotFound = (): MvccError => new MvccError('lease-not-found', ErrLeaseNotFoundText);
export const errClosed = (): MvccError => new MvccError('closed', 'mvcc: closed');

export type ValidationErrorCode =
  | 'empty-key' | 'too-many-ops' | 'duplicate-key' | 'value-provided' | 'lease-provided' | 'key-not-found';

/** Request is malformed (gRPC InvalidArgument); raised before anything is applied. */
export class TxnValidationError extends Error {
  readonly code: ValidationErrorCode;
  constructor(code: ValidationErrorCode, message: string) {
    super(message);
    this.name = 'TxnValidationError';
    this.code = code;
  }
}

export const ErrEmptyKeyText = 'etcdserver: key is not provided';
export const ErrTooManyOpsText = 'etcdserver: too many operations in txn request';
export const ErrDuplicateKeyText = 'etcdserver: duplicate key given in txn request';
export const ErrValueProvidedText = 'etcdserver: value is provided';
export const ErrLeaseProvidedText = 'etcdserver: lease is provided';
