// What a token provider does (etcd's TokenProvider): hands out a token when an
// Authenticate entry is applied, and tells who a token belongs to. Two kinds:
// simple tokens (simple-token.ts: random, kept in each member's memory) and JWTs
// (jwt-token.ts: signed, verified by any member with the same key).

import type { AuthInfo } from './types.js';

/** Where in the log the Authenticate entry that assigns a token sits. */
export interface AssignContext {
  /** The entry's Raft index (part of a simple token). */
  index: number;
  /** The random prefix the proposer chose (simple tokens; '' for JWT). */
  prefix: string;
}

export interface TokenProvider {
  readonly kind: 'simple' | 'jwt';
  /** The random part of a simple token, chosen before proposing; '' for JWT. */
  genPrefix(): string;
  /** A token for `username`, valid at auth revision `revision`. Throws for a verify-only JWT key. */
  assign(username: string, revision: number, at: AssignContext): string;
  /**
   * Who `token` belongs to and at which auth revision (simple tokens: the store's
   * current one, `currentRevision`; JWTs: the one signed in). undefined: not a
   * valid token. A promise when a simple token's entry is not applied here yet.
   */
  info(token: string, currentRevision: number): AuthInfo | undefined | Promise<AuthInfo | undefined>;
  /** Auth was enabled / disabled (a disabled simple provider forgets every token). */
  enable(): void;
  disable(): void;
  /** The user was deleted or its password changed. */
  invalidateUser(name: string): void;
  /** Timers off (the member stops). */
  stop(): void;
}
