// Simple tokens (etcd's auth/simple_token.go): "<16 random letters>.<raft index
// of the Authenticate entry>". Every member applies that entry and remembers the
// token for its user, so the token works on every member; it expires after
// --auth-token-ttl seconds (300) without use, each use renewing it on the member
// that saw it. Not signed: anyone who sees one can use it until it expires.

import { randomInt } from 'node:crypto';
import type { AssignContext, TokenProvider } from './token-provider.js';
import type { AuthInfo } from './types.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const PREFIX_LENGTH = 16;
/** etcd's simpleTokenTTLResolution: how often expired tokens are swept. */
const SWEEP_MS = 1000;

export interface SimpleTokenOptions {
  /** --auth-token-ttl in ms (etcd: 300 s; ≤ 0 means that default). */
  ttlMs: number;
  /** Monotonic ms (default performance.now). */
  now?: () => number;
  /**
   * Whether the entry at `index` is applied here, waiting for it if need be (a
   * token can reach a member before the entry that made it): etcd's indexWaiter.
   */
  indexApplied?: (index: number) => boolean | Promise<boolean>;
  /** Sweep expired tokens on a timer (off in tests that drive the clock). */
  sweepTimer?: boolean;
}

interface Entry {
  username: string;
  expires: number;
}

export class SimpleTokens implements TokenProvider {
  readonly kind = 'simple';
  private readonly tokens = new Map<string, Entry>();
  private enabled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: SimpleTokenOptions) {
    this.ttlMs = opts.ttlMs > 0 ? opts.ttlMs : 300_000;
    this.now = opts.now ?? (() => performance.now());
  }

  genPrefix(): string {
    let s = '';
    for (let i = 0; i < PREFIX_LENGTH; i++) s += LETTERS[randomInt(LETTERS.length)];
    return s;
  }

  assign(username: string, _revision: number, at: AssignContext): string {
    const token = `${at.prefix}.${at.index}`;
    // Like etcd, only an enabled provider keeps tokens (Authenticate fails while auth is off anyway).
    if (this.enabled) this.tokens.set(token, { username, expires: this.now() + this.ttlMs });
    return token;
  }

  info(token: string, currentRevision: number): AuthInfo | undefined | Promise<AuthInfo | undefined> {
    const dot = token.indexOf('.');
    if (dot < 0 || dot !== token.lastIndexOf('.')) return undefined;
    const indexText = token.slice(dot + 1);
    if (!/^\d+$/.test(indexText)) return undefined;
    const applied = this.opts.indexApplied?.(Number(indexText)) ?? true;
    if (applied === true) return this.lookup(token, currentRevision);
    if (applied === false) return undefined;
    return applied.then((ok) => (ok ? this.lookup(token, currentRevision) : undefined));
  }

  private lookup(token: string, currentRevision: number): AuthInfo | undefined {
    const e = this.tokens.get(token);
    if (!e) return undefined;
    const now = this.now();
    if (now > e.expires) {
      this.tokens.delete(token);
      return undefined;
    }
    e.expires = now + this.ttlMs;
    return { username: e.username, revision: currentRevision, token };
  }

  /** Drops every token whose TTL has run out. */
  sweep(): void {
    const now = this.now();
    for (const [t, e] of this.tokens) if (now > e.expires) this.tokens.delete(t);
  }

  /** How many tokens are held (metrics, tests). */
  get size(): number {
    return this.tokens.size;
  }

  enable(): void {
    if (this.enabled) return;
    this.enabled = true;
    if (this.opts.sweepTimer !== false) {
      this.timer = setInterval(() => this.sweep(), SWEEP_MS);
      this.timer.unref();
    }
  }

  disable(): void {
    this.enabled = false;
    this.tokens.clear();
    this.stop();
  }

  invalidateUser(name: string): void {
    for (const [t, e] of this.tokens) if (e.username === name) this.tokens.delete(t);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
