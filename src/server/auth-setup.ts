// Builds a member's auth parts from its configuration and backend: the token
// provider --auth-token names (reading the JWT key files), and the auth store as
// the backend holds it (start-up, and again when a store image is installed).

import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { AuthStore, JwtTokens, type JwtSignMethod, SimpleTokens, type TokenProvider } from '../auth/index.js';
import { AUTH_ROLE_PREFIX, AUTH_USER_PREFIX, META_AUTH_ENABLED, META_AUTH_REVISION, type MvccStore } from '../mvcc/index.js';
import type { AuthApplyState } from './apply/auth.js';
import type { Config } from './config.js';

export interface TokenDeps {
  logger: Logger;
  /** Resolves true once entry `index` is applied here (false after the request timeout). */
  indexApplied(index: number): boolean | Promise<boolean>;
}

function readKey(file: string, what: string): Uint8Array | undefined {
  if (file === '') return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`--auth-token: cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

export function createTokenProvider(cfg: Pick<Config, 'authToken' | 'jwtTtlMs' | 'authTokenTtlSec'>, deps: TokenDeps): TokenProvider {
  const spec = cfg.authToken;
  if (spec.type === 'simple') {
    deps.logger.warn({}, 'simple token is not cryptographically signed');
    return new SimpleTokens({ ttlMs: cfg.authTokenTtlSec * 1000, indexApplied: (i) => deps.indexApplied(i) });
  }
  if (spec.unknown.length > 0) deps.logger.warn({ keys: spec.unknown }, 'unknown JWT options');
  const privateKey = readKey(spec.privKeyFile, 'priv-key');
  const publicKey = readKey(spec.pubKeyFile, 'pub-key');
  const jwt = new JwtTokens({
    signMethod: spec.signMethod as JwtSignMethod,
    ttlMs: cfg.jwtTtlMs,
    ...(privateKey ? { privateKey } : {}),
    ...(publicKey ? { publicKey } : {}),
  });
  if (jwt.verifyOnly) deps.logger.warn({}, 'JWT: only a public key given; this member verifies tokens but cannot issue them');
  return jwt;
}

/** Replaces `store`'s state with what the MVCC store's backend holds. */
export async function loadAuthStore(store: AuthStore, mvcc: MvccStore): Promise<void> {
  const be = mvcc.backend;
  store.load({
    users: await be.scanRaw(AUTH_USER_PREFIX),
    roles: await be.scanRaw(AUTH_ROLE_PREFIX),
    enabled: await be.getRaw(META_AUTH_ENABLED),
    revision: await be.getRaw(META_AUTH_REVISION),
  });
}

/** The auth store (loaded from the backend) and the token provider, wired so the provider hears of changes. */
export async function createAuthState(cfg: Config, mvcc: MvccStore, deps: TokenDeps): Promise<AuthApplyState> {
  const tokens = createTokenProvider(cfg, deps);
  const store = new AuthStore({
    enabledChanged: (on) => (on ? tokens.enable() : tokens.disable()),
    userInvalidated: (name) => tokens.invalidateUser(name),
  });
  await loadAuthStore(store, mvcc);
  return { store, tokens };
}
