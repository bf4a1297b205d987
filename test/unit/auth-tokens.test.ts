// Token providers: simple tokens (format, TTL renewed on use, expiry, per-user
// invalidation, waiting for the entry that made them) on a simulated clock; JWTs
// of every sign-method family (sign, verify, expiry, wrong key, tampering,
// verify-only members, bad key options); --auth-token parsing.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthOptionsError, JWT_SIGN_METHODS, JwtTokens, type JwtSignMethod, parseAuthToken, SimpleTokens } from '../../src/auth/index.js';

describe('simple tokens', () => {
  function provider(ttlMs = 300_000) {
    const clock = { now: 0 };
    const t = new SimpleTokens({ ttlMs, now: () => clock.now, sweepTimer: false });
    t.enable();
    return { t, clock };
  }

  it("etcd's format: 16 random letters, a dot, the entry's index", () => {
    const { t } = provider();
    const prefix = t.genPrefix();
    expect(prefix).toMatch(/^[a-zA-Z]{16}$/);
    expect(t.genPrefix()).not.toBe(prefix);
    expect(t.assign('alice', 3, { index: 42, prefix })).toBe(`${prefix}.42`);
  });

  it('answers with the current auth revision, renews on use, expires after the TTL without use', () => {
    const { t, clock } = provider(300_000);
    const tok = t.assign('alice', 3, { index: 7, prefix: 'abcdefghijklmnop' });
    expect(t.info(tok, 9)).toEqual({ username: 'alice', revision: 9, token: tok });
    clock.now = 299_000;
    expect(t.info(tok, 9)).toBeDefined(); // renewed: expires at 599 s now
    clock.now = 598_000;
    expect(t.info(tok, 9)).toBeDefined();
    clock.now = 898_001;
    expect(t.info(tok, 9)).toBeUndefined();
    expect(t.size).toBe(0);
  });

  it('the sweep drops expired tokens; unknown and malformed tokens are invalid', () => {
    const { t, clock } = provider(1000);
    t.assign('a', 1, { index: 1, prefix: 'p' });
    t.assign('b', 1, { index: 2, prefix: 'p' });
    clock.now = 1001;
    t.sweep();
    expect(t.size).toBe(0);
    for (const bad of ['p.1', 'nodot', 'a.b.c', 'p.x', 'p.', '.1']) expect(t.info(bad, 1)).toBeUndefined();
  });

  it("a deleted user's or a changed password's tokens stop working; disabling auth drops them all", () => {
    const { t } = provider();
    const a = t.assign('alice', 1, { index: 1, prefix: 'p' });
    const b = t.assign('bob', 1, { index: 2, prefix: 'p' });
    t.invalidateUser('alice');
    expect(t.info(a, 1)).toBeUndefined();
    expect(t.info(b, 1)).toBeDefined();
    t.disable();
    expect(t.info(b, 1)).toBeUndefined();
    // a disabled provider hands out tokens that are never valid
    expect(t.info(t.assign('bob', 1, { index: 3, prefix: 'p' }), 1)).toBeUndefined();
  });

  it('waits for the entry that made the token on a member behind', async () => {
    let applied = 5;
    let release: (ok: boolean) => void = () => {};
    const t = new SimpleTokens({
      ttlMs: 1000,
      now: () => 0,
      sweepTimer: false,
      indexApplied: (i) => (i <= applied ? true : new Promise<boolean>((r) => (release = r))),
    });
    t.enable();
    const tok = t.assign('alice', 1, { index: 9, prefix: 'p' });
    const pending = t.info(tok, 4);
    expect(pending).toBeInstanceOf(Promise);
    applied = 9;
    release(true);
    expect(await pending).toEqual({ username: 'alice', revision: 4, token: tok });
    const never = new SimpleTokens({ ttlMs: 1000, sweepTimer: false, indexApplied: () => false });
    expect(never.info('p.100', 1)).toBeUndefined();
  });
});

type Keys = { privateKey: Uint8Array; publicKey?: Uint8Array };
const made = new Map<string, Keys>();

/** Keys for `method`; RSA key generation is slow, so one pair per method unless `fresh`. */
function keysFor(method: JwtSignMethod, fresh = false): Keys {
  // RS* and PS* take the same RSA keys.
  const memo = method.startsWith('PS') || method.startsWith('RS') ? 'rsa' : method;
  const k = made.get(memo);
  if (k && !fresh) return k;
  const out = makeKeys(method);
  if (!fresh) made.set(memo, out);
  return out;
}

function makeKeys(method: JwtSignMethod): Keys {
  const family = method.slice(0, 2);
  if (family === 'HS') return { privateKey: randomBytes(32) };
  const curve = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }[method as 'ES256'];
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const pair =
    family === 'ES'
      ? generateKeyPairSync('ec', { namedCurve: curve, publicKeyEncoding, privateKeyEncoding })
      : generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding });
  return { privateKey: Buffer.from(pair.privateKey), publicKey: Buffer.from(pair.publicKey) };
}

describe('JWT tokens', () => {
  const claimsOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

  it.each(JWT_SIGN_METHODS.map((m) => [m]))('%s: signs etcd\'s claims; another member with the same key verifies', (method) => {
    const keys = keysFor(method);
    let now = 1_700_000_000_000;
    const a = new JwtTokens({ signMethod: method, ttlMs: 300_000, now: () => now, ...keys });
    const b = new JwtTokens({ signMethod: method, ttlMs: 300_000, now: () => now, ...keys });
    const tok = a.assign('alice', 12);
    expect(JSON.parse(Buffer.from(tok.split('.')[0]!, 'base64url').toString())).toEqual({ alg: method, typ: 'JWT' });
    expect(claimsOf(tok)).toEqual({ exp: 1_700_000_300, revision: 12, username: 'alice' });
    // The store's current revision does not matter: the token carries its own.
    expect(b.info(tok)).toEqual({ username: 'alice', revision: 12, signed: true });
    now += 300_000; // valid through its exp second
    expect(b.info(tok)).toBeDefined();
    now += 1000;
    expect(b.info(tok)).toBeUndefined();
  });

  it.each([['RS256'], ['PS384'], ['ES256'], ['HS512']] as [JwtSignMethod][])('%s: a token signed with another key, tampered with, or of another method is refused', (method) => {
    const mine = new JwtTokens({ signMethod: method, ttlMs: 60_000, ...keysFor(method) });
    const theirs = new JwtTokens({ signMethod: method, ttlMs: 60_000, ...keysFor(method, true) });
    expect(mine.info(theirs.assign('root', 1))).toBeUndefined();
    const tok = mine.assign('alice', 1);
    const [h, , s] = tok.split('.');
    const forged = Buffer.from(JSON.stringify({ exp: 9_999_999_999, revision: 1, username: 'root' })).toString('base64url');
    expect(mine.info(`${h}.${forged}.${s}`)).toBeUndefined();
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(mine.info(`${none}.${tok.split('.')[1]}.`)).toBeUndefined();
    for (const bad of ['', 'a.b', 'a.b.c', `${h}.!!.${s}`]) expect(mine.info(bad)).toBeUndefined();
  });

  it('a member with only the public key verifies but cannot sign', () => {
    const keys = keysFor('ES384');
    const signer = new JwtTokens({ signMethod: 'ES384', ttlMs: 60_000, ...keys });
    const verifier = new JwtTokens({ signMethod: 'ES384', ttlMs: 60_000, publicKey: keys.publicKey! });
    expect(verifier.verifyOnly).toBe(true);
    expect(verifier.info(signer.assign('alice', 2))).toEqual({ username: 'alice', revision: 2, signed: true });
    expect(() => verifier.assign('alice', 2)).toThrow('auth: token signing attempted with verify-only key');
  });

  it('refuses bad options: unknown method, no key, mismatched pair, wrong key type or curve', () => {
    const rsa = keysFor('RS256');
    const ec = keysFor('ES256');
    expect(() => new JwtTokens({ signMethod: 'XX256' as JwtSignMethod, ttlMs: 1, ...rsa })).toThrow(AuthOptionsError);
    expect(() => new JwtTokens({ signMethod: 'RS256', ttlMs: 1 })).toThrow('auth: missing key data');
    expect(() => new JwtTokens({ signMethod: 'HS256', ttlMs: 1 })).toThrow('auth: missing key data');
    expect(() => new JwtTokens({ signMethod: 'RS256', ttlMs: 1, privateKey: rsa.privateKey, publicKey: keysFor('RS256', true).publicKey! })).toThrow(
      "auth: public and private keys don't match",
    );
    expect(() => new JwtTokens({ signMethod: 'ES256', ttlMs: 1, ...rsa })).toThrow(AuthOptionsError);
    expect(() => new JwtTokens({ signMethod: 'ES384', ttlMs: 1, ...ec })).toThrow(AuthOptionsError);
    expect(() => new JwtTokens({ signMethod: 'RS256', ttlMs: 1, privateKey: Buffer.from('not a pem') })).toThrow(AuthOptionsError);
  });
});

describe('--auth-token', () => {
  it('parses simple and jwt with their options', () => {
    expect(parseAuthToken('simple')).toEqual({ type: 'simple' });
    expect(parseAuthToken('jwt,pub-key=/a.pub,priv-key=/a.key,sign-method=RS256,ttl=10m')).toEqual({
      type: 'jwt', signMethod: 'RS256', pubKeyFile: '/a.pub', privKeyFile: '/a.key', ttl: '10m', unknown: [],
    });
    expect(parseAuthToken('jwt,sign-method=HS256,priv-key=k,extra=1')).toMatchObject({ unknown: ['extra'] });
  });

  it("refuses what etcd refuses: an unknown type, a malformed or repeated option", () => {
    expect(() => parseAuthToken('oauth')).toThrow(AuthOptionsError);
    expect(() => parseAuthToken('')).toThrow(AuthOptionsError);
    expect(() => parseAuthToken('jwt,sign-method')).toThrow(AuthOptionsError);
    expect(() => parseAuthToken('jwt,ttl=1m,ttl=2m')).toThrow(AuthOptionsError);
  });
});
