// Errors of the auth store and the token providers. Client-visible texts and
// gRPC statuses are etcd 3.4's (api/v3rpc/rpctypes): clients match on the text.
// `status` names the gRPC status so the server maps an AuthError without knowing
// each code. An error etcd has no gRPC mapping for is answered as Unknown with
// its own "auth: ..." text, as etcd does.

export type AuthErrorStatus = 'FAILED_PRECONDITION' | 'INVALID_ARGUMENT' | 'PERMISSION_DENIED' | 'UNAUTHENTICATED' | 'UNKNOWN';

export type AuthErrorCode =
  | 'root-user-not-exist'
  | 'root-role-not-exist'
  | 'user-already-exist'
  | 'user-empty'
  | 'user-not-found'
  | 'role-already-exist'
  | 'role-not-found'
  | 'role-empty'
  | 'auth-failed'
  | 'no-password-user'
  | 'permission-denied'
  | 'role-not-granted'
  | 'permission-not-granted'
  | 'auth-not-enabled'
  | 'auth-old-revision'
  | 'invalid-auth-token'
  | 'invalid-auth-mgmt';

export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    readonly status: AuthErrorStatus,
    message: string,
    /**
     * The auth store's own text ("auth: ..."). etcd 3.4's Maintenance service
     * returns the store's error unconverted: clients see Unknown and this text.
     */
    readonly storeMessage: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

const def = (code: AuthErrorCode, status: AuthErrorStatus, message: string, storeMessage: string) => (): AuthError =>
  new AuthError(code, status, message, storeMessage);

export const ErrRootUserNotExist = def('root-user-not-exist', 'FAILED_PRECONDITION', 'etcdserver: root user does not exist', 'auth: root user does not exist');
export const ErrRootRoleNotExist = def('root-role-not-exist', 'FAILED_PRECONDITION', 'etcdserver: root user does not have root role', 'auth: root user does not have root role');
export const ErrUserAlreadyExist = def('user-already-exist', 'FAILED_PRECONDITION', 'etcdserver: user name already exists', 'auth: user already exists');
export const ErrUserEmpty = def('user-empty', 'INVALID_ARGUMENT', 'etcdserver: user name is empty', 'auth: user name is empty');
export const ErrUserNotFound = def('user-not-found', 'FAILED_PRECONDITION', 'etcdserver: user name not found', 'auth: user not found');
export const ErrRoleAlreadyExist = def('role-already-exist', 'FAILED_PRECONDITION', 'etcdserver: role name already exists', 'auth: role already exists');
export const ErrRoleNotFound = def('role-not-found', 'FAILED_PRECONDITION', 'etcdserver: role name not found', 'auth: role not found');
export const ErrRoleEmpty = def('role-empty', 'INVALID_ARGUMENT', 'etcdserver: role name is empty', 'auth: role name is empty');
export const ErrAuthFailed = def('auth-failed', 'INVALID_ARGUMENT', 'etcdserver: authentication failed, invalid user ID or password', 'auth: authentication failed, invalid user ID or password');
/** etcd maps this one to no gRPC error: clients see Unknown and the store's own text. */
export const ErrNoPasswordUser = def('no-password-user', 'UNKNOWN', 'auth: authentication failed, password was given for no password user', 'auth: authentication failed, password was given for no password user');
export const ErrPermissionDenied = def('permission-denied', 'PERMISSION_DENIED', 'etcdserver: permission denied', 'auth: permission denied');
export const ErrRoleNotGranted = def('role-not-granted', 'FAILED_PRECONDITION', 'etcdserver: role is not granted to the user', 'auth: role is not granted to the user');
export const ErrPermissionNotGranted = def('permission-not-granted', 'FAILED_PRECONDITION', 'etcdserver: permission is not granted to the role', 'auth: permission is not granted to the role');
export const ErrAuthNotEnabled = def('auth-not-enabled', 'FAILED_PRECONDITION', 'etcdserver: authentication is not enabled', 'auth: authentication is not enabled');
export const ErrAuthOldRevision = def('auth-old-revision', 'INVALID_ARGUMENT', 'etcdserver: revision of auth store is old', 'auth: revision in header is old');
export const ErrInvalidAuthToken = def('invalid-auth-token', 'UNAUTHENTICATED', 'etcdserver: invalid auth token', 'auth: invalid auth token');
export const ErrInvalidAuthMgmt = def('invalid-auth-mgmt', 'INVALID_ARGUMENT', 'etcdserver: invalid auth management', 'auth: invalid auth management');

/** A bad --auth-token value (start-up error, never a client answer). */
export class AuthOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthOptionsError';
  }
}
