// JWT tokens (etcd's auth/jwt.go, golang-jwt): header.payload.signature in
// base64url, claims {"exp","revision","username"} like etcd's, signed with
// node:crypto. Any member with the same key verifies a token another member
// signed; a member given only the public key verifies but cannot sign. The
// revision claim is the auth revision at sign time: once the store changes, the
// token's checks fail with "revision of auth store is old" and clients
// re-authenticate, as with etcd.

import { createHmac, createPrivateKey, createPublicKey, type KeyObject, constants, sign, timingSafeEqual, verify } from 'node:crypto';
import { AuthOptionsError } from './errors.js';
import type { TokenProvider } from './token-provider.js';
import type { AuthInfo } from './types.js';

export const JWT_SIGN_METHODS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'] as const;
export type JwtSignMethod = (typeof JWT_SIGN_METHODS)[number];

type Family = 'RS' | 'PS' | 'ES' | 'HS';

const familyOf = (m: JwtSignMethod): Family => m.slice(0, 2) as Family;
const hashOf = (m: JwtSignMethod): string => `sha${m.slice(2)}`;
/** ES512 is P-521, as in JWA. */
const CURVE_OF: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

export interface JwtOptions {
  signMethod: JwtSignMethod;
  /** PEM (RSA/EC) contents of priv-key / pub-key; for HS*, priv-key's raw bytes are the secret. */
  privateKey?: Uint8Array;
  publicKey?: Uint8Array;
  /** Token lifetime in ms (etcd: 5 min). */
  ttlMs: number;
  /** Wall-clock ms (exp is wall-clock seconds in the claims). */
  now?: () => number;
}

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');

export class JwtTokens implements TokenProvider {
  readonly kind = 'jwt';
  private readonly method: JwtSignMethod;
  private readonly family: Family;
  private readonly signKey: KeyObject | Uint8Array | undefined;
  private readonly verifyKey: KeyObject | Uint8Array;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly headerPart: string;

  constructor(opts: JwtOptions) {
    if (!(JWT_SIGN_METHODS as readonly string[]).includes(opts.signMethod)) {
      throw new AuthOptionsError('auth: invalid auth signature method');
    }
    this.method = opts.signMethod;
    this.family = familyOf(opts.signMethod);
    this.ttlMs = opts.ttlMs;
    this.now = opts.now ?? Date.now;
    this.headerPart = b64url(JSON.stringify({ alg: this.method, typ: 'JWT' }));
    if (this.family === 'HS') {
      if (!opts.privateKey || opts.privateKey.length === 0) throw new AuthOptionsError('auth: missing key data');
      this.signKey = opts.privateKey;
      this.verifyKey = opts.privateKey;
      return;
    }
    const priv = opts.privateKey?.length ? parseKey(() => createPrivateKey(Buffer.from(opts.privateKey!))) : undefined;
    const pub = opts.publicKey?.length ? parseKey(() => createPublicKey(Buffer.from(opts.publicKey!))) : undefined;
    if (!priv && !pub) throw new AuthOptionsError('auth: missing key data');
    const wanted = this.family === 'ES' ? 'ec' : 'rsa';
    for (const k of [priv, pub]) {
      if (k && k.asymmetricKeyType !== wanted && !(wanted === 'rsa' && k.asymmetricKeyType === 'rsa-pss')) {
        throw new AuthOptionsError(`auth: ${this.method} needs an ${wanted.toUpperCase()} key, got ${k.asymmetricKeyType}`);
      }
      if (k && this.family === 'ES' && k.asymmetricKeyDetails?.namedCurve !== CURVE_OF[this.method]) {
        throw new AuthOptionsError(`auth: ${this.method} needs a ${CURVE_OF[this.method]} key`);
      }
    }
    if (priv && pub) {
      const derived = createPublicKey(priv).export({ format: 'der', type: 'spki' });
      if (!derived.equals(pub.export({ format: 'der', type: 'spki' }))) {
        throw new AuthOptionsError("auth: public and private keys don't match");
      }
    }
    this.signKey = priv;
    this.verifyKey = pub ?? createPublicKey(priv!);
  }

  /** True when only a public key was given: this member verifies tokens but cannot issue them. */
  get verifyOnly(): boolean {
    return this.signKey === undefined;
  }

  genPrefix(): string {
    return '';
  }

  assign(username: string, revision: number): string {
    if (!this.signKey) throw new AuthOptionsError('auth: token signing attempted with verify-only key');
    // golang-jwt marshals MapClaims with sorted keys.
    const claims = { exp: Math.floor((this.now() + this.ttlMs) / 1000), revision, username };
    const signingInput = `${this.headerPart}.${b64url(JSON.stringify(claims))}`;
    return `${signingInput}.${b64url(this.signature(signingInput))}`;
  }

  info(token: string): AuthInfo | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [h, p, s] = parts as [string, string, string];
    let header: unknown;
    let claims: unknown;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString());
      claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    } catch {
      return undefined;
    }
    if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== this.method) return undefined;
    if (!this.verifies(`${h}.${p}`, Buffer.from(s, 'base64url'))) return undefined;
    if (typeof claims !== 'object' || claims === null) return undefined;
    const { exp, username, revision } = claims as { exp?: unknown; username?: unknown; revision?: unknown };
    // golang-jwt: a token is valid up to and including its exp second.
    if (exp !== undefined && (typeof exp !== 'number' || Math.floor(this.now() / 1000) > exp)) return undefined;
    if (typeof username !== 'string' || typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) return undefined;
    return { username, revision, signed: true };
  }

  private signature(input: string): Buffer {
    const data = Buffer.from(input);
    const hash = hashOf(this.method);
    switch (this.family) {
      case 'HS':
        return createHmac(hash, this.signKey as Uint8Array).update(data).digest();
      case 'RS':
        return sign(hash, data, this.signKey as KeyObject);
      case 'PS':
        return sign(hash, data, { key: this.signKey as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
      case 'ES':
        return sign(hash, data, { key: this.signKey as KeyObject, dsaEncoding: 'ieee-p1363' });
    }
  }

  private verifies(input: string, sig: Buffer): boolean {
    const data = Buffer.from(input);
    const hash = hashOf(this.method);
    try {
      switch (this.family) {
        case 'HS': {
          const want = createHmac(hash, this.verifyKey as Uint8Array).update(data).digest();
          return want.length === sig.length && timingSafeEqual(want, sig);
        }
        case 'RS':
          return verify(hash, data, this.verifyKey as KeyObject, sig);
        case 'PS':
          return verify(hash, data, { key: this.verifyKey as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig);
        case 'ES':
          return verify(hash, data, { key: this.verifyKey as KeyObject, dsaEncoding: 'ieee-p1363' }, sig);
      }
    } catch {
      return false;
    }
  }

  enable(): void {}
  disable(): void {}
  invalidateUser(): void {}
  stop(): void {}
}

function parseKey(parse: () => KeyObject): KeyObject {
  try {
    return parse();
  } catch (err) {
    throw new AuthOptionsError(`auth: cannot parse key: ${(err as Error).message}`);
  }
}
