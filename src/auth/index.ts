// The auth subsystem: users, roles, permissions, the auth revision (store.ts),
// and the token providers. Pure: no server imports (test/unit/layering.test.ts).

export * from './errors.js';
export * from './types.js';
export { RangePermissions } from './permissions.js';
export { AuthStore, type AuthStage, type AuthBackendState, type AuthStoreListener } from './store.js';
export { hashPassword, passwordMatches, effectiveBcryptCost, BCRYPT_DEFAULT_COST } from './password.js';
export type { TokenProvider, AssignContext } from './token-provider.js';
export { SimpleTokens, type SimpleTokenOptions } from './simple-token.js';
export { JwtTokens, JWT_SIGN_METHODS, type JwtSignMethod, type JwtOptions } from './jwt-token.js';
export { checkRange, checkPut, checkDeleteRange, checkTxn, checkLeaseKeys, type LeaseKeys } from './request-checks.js';
export { parseAuthToken, type AuthTokenSpec } from './token-options.js';
