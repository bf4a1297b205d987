// The simulated clients: each issues one call at a time to a member it picks,
// a mix of puts (some with leases), deletes, compare-and-swap txns, linearizable,
// serializable and historic ranges, compactions and lease grant/revoke/keep-alive,
// and records call and return in simulated ms (history.ts). Besides the six
// contended keys (k0..k5), a second key family (p/00..p/15) takes the large
// writes people make: multi-key txns that put up to a dozen keys at one revision,
// and prefix deletes of the whole family; one such entry stages more records
// than a small backend batch holds, so batches meet entries of every size. A call whose member
// crashed, or that did not answer within the client's timeout, returns Infinity
// with an indefinite error; its late answer, if any, is ignored.

import type * as h from '../checkers/history.js';
import { call, errorResponse } from './member-calls.js';
import type { SimCluster } from './sim-cluster.js';
import type { SimMember } from './sim-member.js';

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
/** The key family of multi-key writes and prefix deletes ('p/' .. 'p0' is its prefix range). */
const FAMILY = Array.from({ length: 16 }, (_, i) => `p/${String(i).padStart(2, '0')}`);
const FAMILY_START = 'p/';
const FAMILY_END = 'p0';
const CLIENT_TIMEOUT_MS = 4000;
/** Client ids of the revokes lease expiry proposed (one id per operation: they overlap). */
const EXPIRY_CLIENT_BASE = 1_000_000;

interface Outstanding {
  op: h.Operation;
  member: SimMember;
  incarnation: number;
  finish(response: h.Response, returned: number): void;
}

export class SimClients {
  readonly operations: h.Operation[] = [];
  private readonly outstanding = new Set<Outstanding>();
  private nextOpId = 1;
  private stopped = false;
  /** Highest revision any answer carried (for historic reads and compactions). */
  private maxRevision = 0;
  private compacted = 0;

  constructor(private readonly cluster: SimCluster, private readonly clients: number, private readonly thinkMs: number) {}

  start(): void {
    for (let c = 0; c < this.clients; c++) this.next(c);
  }

  /** No new calls from now on. */
  stop(): void {
    this.stopped = true;
  }

  /** The member crashed or halted: its calls will never be answered. */
  memberDown(member: SimMember): void {
    for (const o of [...this.outstanding]) {
      if (o.member === member) o.finish({ kind: 'error', message: 'member crashed', definite: false }, Infinity);
    }
  }

  get pending(): number {
    return this.outstanding.size;
  }

  /**
   * A lease revoke the leader's expiry loop proposed, recorded as an operation of
   * its own client (lease expiry is not in the checkers' model; what the server
   * actually revoked, and when, is).
   */
  serverRevoke(member: SimMember, id: bigint, run: () => Promise<unknown>): Promise<unknown> {
    const request: h.Request = { kind: 'leaseRevoke', id: id.toString() };
    const client = EXPIRY_CLIENT_BASE + this.nextOpId;
    const p = run();
    this.track(client, member, request, p.then((res) => ({ kind: 'leaseRevoke', revision: (res as { revision: number }).revision }) as h.Response, (err: unknown) => errorResponse(request, err)), false);
    return p;
  }

  private next(client: number): void {
    if (this.stopped) return;
    const { rng, sched } = this.cluster;
    sched.after(rng() * this.thinkMs, () => this.issue(client));
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.cluster.rng() * xs.length)]!;
  }

  private issue(client: number): void {
    if (this.stopped) return;
    const request = this.request(client);
    // Keep-alives must reach the leader (peer forwarding is not simulated); the rest go anywhere.
    const up = this.cluster.up();
    const member = request.kind === 'leaseKeepAlive' ? this.cluster.leader() ?? this.pick(up) : this.pick(up);
    if (!member) {
      this.next(client);
      return;
    }
    this.track(client, member, request, call(member.current!.server, request), true);
  }

  /** Records one call from its start to its answer (or its loss); `again`: the client then issues its next call. */
  private track(client: number, member: SimMember, request: h.Request, answer: Promise<h.Response>, again: boolean): void {
    const inc = member.current!;
    const { sched } = this.cluster;
    const op: h.Operation = {
      id: this.nextOpId++, client, member: member.id.toString(16), call: sched.now(), return: Infinity, request,
      response: { kind: 'error', message: 'pending', definite: false },
    };
    this.operations.push(op);
    let done = false;
    const cancelTimeout = sched.after(CLIENT_TIMEOUT_MS, () =>
      finish({ kind: 'error', message: 'client timeout', definite: false }, Infinity),
    );
    const o: Outstanding = { op, member, incarnation: inc.n, finish: (r, t) => finish(r, t) };
    const finish = (response: h.Response, returned: number): void => {
      if (done) return;
      done = true;
      cancelTimeout();
      this.outstanding.delete(o);
      op.response = response;
      op.return = response.kind === 'error' && !response.definite ? Infinity : returned;
      if ('revision' in response && response.revision > this.maxRevision) this.maxRevision = response.revision;
      if (response.kind === 'compact') this.compacted = Math.max(this.compacted, request.kind === 'compact' ? request.revision : 0);
      if (again) this.next(client);
    };
    this.outstanding.add(o);
    answer.then(
      (res) => inc.alive && finish(res, sched.now()),
      (err: unknown) => inc.alive && finish(errorResponse(request, err), sched.now()),
    );
  }

  /**
   * Puts 2..12 keys of the family at one revision, sometimes deleting a contended
   * key too; guarded by one key's version about half the time (the failure branch
   * reads the family).
   */
  private multiKeyTxn(value: string): h.Request {
    const { rng } = this.cluster;
    const n = 2 + Math.floor(rng() * 11);
    const first = Math.floor(rng() * FAMILY.length);
    const keys = Array.from({ length: n }, (_, i) => FAMILY[(first + i) % FAMILY.length]!);
    const success: h.TxnOp[] = keys.map((k) => ({ kind: 'put', key: k, value }));
    if (rng() < 0.3) success.push({ kind: 'delete', key: this.pick(KEYS) });
    const compare: h.Compare[] = rng() < 0.5 ? [] : [{ key: keys[0]!, target: 'version', op: '<', operand: 1 + Math.floor(rng() * 6) }];
    return { kind: 'txn', compare, success, failure: [{ kind: 'range', key: FAMILY_START, end: FAMILY_END }] };
  }

  private leaseSeq = 0;
  /** Leases this client granted (and may not have revoked), as decimal ids. */
  private readonly leases = new Map<number, string[]>();

  private request(client: number): h.Request {
    const { rng } = this.cluster;
    const key = this.pick(KEYS);
    const value = `c${client}-${this.nextOpId}`;
    const mine = this.leases.get(client) ?? [];
    const r = rng();
    if (r < 0.21) return { kind: 'put', key, value };
    if (r < 0.25) return this.multiKeyTxn(value);
    if (r < 0.32 && mine.length > 0) return { kind: 'put', key, value, lease: this.pick(mine) };
    if (r < 0.38) {
      const shape = rng();
      if (shape < 0.5) return { kind: 'delete', key };
      if (shape < 0.75) return { kind: 'delete', key: 'k2', end: 'k4' };
      return { kind: 'delete', key: FAMILY_START, end: FAMILY_END };
    }
    if (r < 0.5) {
      // Compare-and-swap on the key's version: succeeds only if nobody wrote it meanwhile.
      const version = Math.floor(rng() * 4);
      return {
        kind: 'txn',
        compare: [{ key, target: 'version', op: '=', operand: version }],
        success: [{ kind: 'put', key, value }, { kind: 'range', key: this.pick(KEYS) }],
        failure: [{ kind: 'range', key }],
      };
    }
    if (r < 0.515) {
      // A prefix delete and a put in one revision (the put names the revision for resolve-unknown).
      return {
        kind: 'txn',
        compare: [],
        success: [{ kind: 'delete', key: FAMILY_START, end: FAMILY_END }, { kind: 'put', key, value }],
        failure: [],
      };
    }
    if (r < 0.53) {
      return {
        kind: 'txn',
        compare: [{ key, target: 'value', op: '!=', operand: 'x' }, { key: this.pick(KEYS), target: 'mod', op: '<', operand: this.maxRevision }],
        success: [{ kind: 'delete', key: this.pick(KEYS) }, { kind: 'put', key, value }],
        failure: [{ kind: 'put', key: this.pick(KEYS), value }],
      };
    }
    if (r < 0.68) {
      const shape = rng();
      return shape < 0.45 ? { kind: 'range', key } : shape < 0.85 ? { kind: 'range', key: 'k', end: 'l' } : { kind: 'range', key: FAMILY_START, end: FAMILY_END };
    }
    if (r < 0.76) return { kind: 'range', key: 'k', end: 'l', serializable: true };
    if (r < 0.81) {
      const lo = this.compacted + 1;
      const revision = this.maxRevision > lo ? lo + Math.floor(rng() * (this.maxRevision - lo + 1)) : 0;
      return { kind: 'range', key: 'k', end: '\0', revision };
    }
    if (r < 0.83 && this.maxRevision > 10) {
      return { kind: 'compact', revision: Math.max(1, this.maxRevision - Math.floor(rng() * 20)) };
    }
    if (r < 0.88 || mine.length === 0) {
      const id = String((client + 1) * 1_000_000 + ++this.leaseSeq);
      this.leases.set(client, [...mine, id].slice(-3));
      return { kind: 'leaseGrant', ttl: 1 + Math.floor(rng() * 5), id };
    }
    if (r < 0.92) {
      const id = this.pick(mine);
      this.leases.set(client, mine.filter((x) => x !== id));
      return { kind: 'leaseRevoke', id };
    }
    return { kind: 'leaseKeepAlive', id: this.pick(mine) };
  }
}
