// The member's side of auth (etcd's Auth* methods of v3_server.go and its
// AuthInfoFromCtx): the Auth service's requests go through Raft and are answered
// once applied (apply/auth.ts); callers are identified from their token (or a
// verified certificate CN); reads and watches are checked here, writes when
// applied, with the caller's user and auth revision in the entry's header.
//
// Passwords are hashed here, before proposing (as etcd 3.5 does): the entry
// carries the bcrypt hash, never the password, and applying stays cheap and the
// same on every member. Authenticate checks the password here too and proposes
// only the user name.

import type { Logger } from 'pino';
import {
  atLookup,
  type AuthInfo,
  type AuthStore,
  type CallCredentials,
  checkTxn,
  ErrAuthFailed,
  ErrAuthOldRevision,
  ErrInvalidAuthToken,
  hashPassword,
  passwordMatches,
  type Permission,
  type TokenProvider,
} from '../auth/index.js';
import type { RequestCaller } from '../pb/index.js';
import type * as pb from '../pb/types.js';
import type { AuthApplyResult } from './apply/auth.js';
import type { InternalRequestBody } from './proposal.js';

/** What a request comes from when it presents nothing (etcd's empty AuthInfo): checks fail with "user name is empty". */
const NOBODY: AuthInfo = Object.freeze({ username: '', revision: 0 });

export interface AuthServiceParts {
  store: AuthStore;
  tokens: TokenProvider;
  /** --bcrypt-cost. */
  bcryptCost: number;
  logger: Logger;
  propose(body: InternalRequestBody, caller?: RequestCaller): Promise<unknown>;
  /** Waits until this member has applied everything committed (ReadIndex). */
  readBarrier(): Promise<void>;
  /** The keys attached to a lease (none when it does not exist). */
  leaseKeys(id: bigint): Uint8Array[];
}

/** The AuthApi and AuthGate ports of api/ports.ts (main.ts checks that it fits). */
export class AuthService {
  constructor(private readonly p: AuthServiceParts) {}

  get enabled(): boolean {
    return this.p.store.enabled;
  }

  get revision(): number {
    return this.p.store.revision;
  }

  // --- who is calling ------------------------------------------------------------

  identify(creds: CallCredentials): AuthInfo | undefined | Promise<AuthInfo | undefined> {
    const store = this.p.store;
    if (!store.enabled) return undefined;
    if (creds.token !== undefined) {
      const found = this.p.tokens.info(creds.token, store.revision);
      if (found instanceof Promise) return found.then((ai) => this.known(ai, creds.token!));
      return this.known(found, creds.token);
    }
    // Only a certificate the TLS layer verified under --client-cert-auth reaches here.
    if (creds.commonName) return { username: creds.commonName, revision: store.revision };
    return undefined;
  }

  private known(ai: AuthInfo | undefined, token: string): AuthInfo {
    if (ai) return ai;
    this.p.logger.warn({ token }, 'invalid auth token');
    throw ErrInvalidAuthToken();
  }

  // --- checks the adapters make ----------------------------------------------------

  checkRange(who: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array): void {
    if (this.p.store.enabled) this.p.store.isRangePermitted(who ?? NOBODY, key, rangeEnd);
  }

  /** A txn served from local state (a read-only one): what applying it would check. */
  checkTxn(who: AuthInfo | undefined, req: pb.TxnRequest): void {
    if (this.p.store.enabled) checkTxn(this.p.store, who ?? NOBODY, req, this.p.leaseKeys);
  }

  checkAdmin(who: AuthInfo | undefined): void {
    this.p.store.isAdminPermitted(who);
  }

  checkLeaseKeys(who: AuthInfo | undefined, leaseId: bigint): void {
    if (!this.p.store.enabled) return;
    for (const key of this.p.leaseKeys(leaseId)) this.p.store.isPutPermitted(who ?? NOBODY, key);
  }

  /**
   * The caller as a lookup of its credentials now would find it: a linearizable
   * read's, after its barrier. A simple token is looked up again (it fails with
   * "invalid auth token" if it was dropped meanwhile); otherwise atLookup.
   */
  lookedUpNow(who: AuthInfo | undefined): AuthInfo | undefined | Promise<AuthInfo | undefined> {
    const store = this.p.store;
    if (!store.enabled || who === undefined) return who;
    const token = who.token;
    if (token === undefined) return atLookup(who, store.revision);
    const found = this.p.tokens.info(token, store.revision);
    if (found instanceof Promise) return found.then((ai) => this.known(ai, token));
    return this.known(found, token);
  }

  /**
   * After a read served from local state (etcd's doSerialize): if the auth store
   * changed while it was served, the caller's permission may be gone.
   */
  checkStillCurrent(who: AuthInfo | undefined): void {
    if (who && who.revision !== 0 && who.revision !== this.p.store.revision && this.p.store.enabled) throw ErrAuthOldRevision();
  }

  /** The member stops: token timers off. */
  stop(): void {
    this.p.tokens.stop();
  }

  // --- the Auth service --------------------------------------------------------------

  private async request(body: InternalRequestBody, who: AuthInfo | undefined): Promise<AuthApplyResult> {
    return (await this.p.propose(body, who)) as AuthApplyResult;
  }

  async authEnable(who?: AuthInfo): Promise<void> {
    await this.request({ authEnable: {} }, who);
  }

  async authDisable(who?: AuthInfo): Promise<void> {
    await this.request({ authDisable: {} }, who);
  }

  async authStatus(who?: AuthInfo): Promise<{ enabled: boolean; revision: number }> {
    const r = await this.request({ authStatus: {} }, who);
    return r.kind === 'status' ? { enabled: r.enabled, revision: r.revision } : { enabled: this.enabled, revision: this.revision };
  }

  async authenticate(name: string, password: string): Promise<string> {
    await this.p.readBarrier();
    for (;;) {
      const { hash, revision } = this.p.store.passwordOf(name);
      if (!(await passwordMatches(password, hash))) {
        this.p.logger.info({ 'user-name': name }, 'invalid password');
        throw ErrAuthFailed();
      }
      const r = await this.request({ authenticate: { name, password: '', simpleToken: this.p.tokens.genPrefix() } }, undefined);
      // The password was checked against the store at `revision`: a change since (a new password) means check again.
      if (revision === this.p.store.revision && r.kind === 'token') return r.token;
      this.p.logger.info({ 'user-name': name }, 'revision when password checked became stale; retrying');
    }
  }

  async userAdd(name: string, password: string, noPassword: boolean, who?: AuthInfo): Promise<void> {
    // Fail fast before the costly hash; the applier checks again.
    this.checkAdmin(who);
    const hashedPassword = noPassword ? '' : await hashPassword(password, this.p.bcryptCost);
    await this.request({ authUserAdd: { name, password: '', hashedPassword, options: { noPassword } } }, who);
  }

  async userGet(name: string, who?: AuthInfo): Promise<string[]> {
    const r = await this.request({ authUserGet: { name } }, who);
    return r.kind === 'roles' ? r.roles : [];
  }

  async userList(who?: AuthInfo): Promise<string[]> {
    const r = await this.request({ authUserList: {} }, who);
    return r.kind === 'users' ? r.users : [];
  }

  async userDelete(name: string, who?: AuthInfo): Promise<void> {
    await this.request({ authUserDelete: { name } }, who);
  }

  async userChangePassword(name: string, password: string, who?: AuthInfo): Promise<void> {
    this.checkAdmin(who);
    const hashedPassword = await hashPassword(password, this.p.bcryptCost);
    await this.request({ authUserChangePassword: { name, password: '', hashedPassword } }, who);
  }

  async userGrantRole(user: string, role: string, who?: AuthInfo): Promise<void> {
    await this.request({ authUserGrantRole: { user, role } }, who);
  }

  async userRevokeRole(name: string, role: string, who?: AuthInfo): Promise<void> {
    await this.request({ authUserRevokeRole: { name, role } }, who);
  }

  async roleAdd(name: string, who?: AuthInfo): Promise<void> {
    await this.request({ authRoleAdd: { name } }, who);
  }

  async roleGet(role: string, who?: AuthInfo): Promise<Permission[]> {
    const r = await this.request({ authRoleGet: { role } }, who);
    return r.kind === 'perms' ? r.perms : [];
  }

  async roleList(who?: AuthInfo): Promise<string[]> {
    const r = await this.request({ authRoleList: {} }, who);
    return r.kind === 'roles' ? r.roles : [];
  }

  async roleDelete(role: string, who?: AuthInfo): Promise<void> {
    await this.request({ authRoleDelete: { role } }, who);
  }

  async roleGrantPermission(name: string, perm: Permission, who?: AuthInfo): Promise<void> {
    const p = { permType: perm.permType, key: Buffer.from(perm.key), rangeEnd: Buffer.from(perm.rangeEnd) };
    await this.request({ authRoleGrantPermission: { name, perm: p } }, who);
  }

  async roleRevokePermission(role: string, key: Uint8Array, rangeEnd: Uint8Array, who?: AuthInfo): Promise<void> {
    await this.request({ authRoleRevokePermission: { role, key: Buffer.from(key), rangeEnd: Buffer.from(rangeEnd) } }, who);
  }
}
