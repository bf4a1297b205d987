// The simulated clients: each issues one call at a time to a member it picks,
// a mix of puts (some with leases), deletes, compare-and-swap txns, linearizable,
// serializable and historic ranges, compactions and lease grant/revoke/keep-alive,
// and records call and return in simulated ms (history.ts). A call whose member
// crashed, or that did not answer within the client's timeout, returns Infinity
// with an indefinite error; its late answer, if any, is ignored.

import type * as h from '../checkers/history.js';
import { call, errorResponse } from './member-calls.js';
import type { SimCluster } from './sim-cluster.js';
import type { SimMember } from './sim-member.js';

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
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

  private leaseSeq = 0;
  /** Leases this client granted (and may not have revoked), as decimal ids. */
  private readonly leases = new Map<number, string[]>();

  private request(client: number): h.Request {
    const { rng } = this.cluster;
    const key = this.pick(KEYS);
    const value = `c${client}-${this.nextOpId}`;
    const mine = this.leases.get(client) ?? [];
    const r = rng();
    if (r < 0.25) return { kind: 'put', key, value };
    if (r < 0.32 && mine.length > 0) return { kind: 'put', key, value, lease: this.pick(mine) };
    if (r < 0.38) return rng() < 0.7 ? { kind: 'delete', key } : { kind: 'delete', key: 'k2', end: 'k4' };
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
    if (r < 0.53) {
      return {
        kind: 'txn',
        compare: [{ key, target: 'value', op: '!=', operand: 'x' }, { key: this.pick(KEYS), target: 'mod', op: '<', operand: this.maxRevision }],
        success: [{ kind: 'delete', key: this.pick(KEYS) }, { kind: 'put', key, value }],
        failure: [{ kind: 'put', key: this.pick(KEYS), value }],
      };
    }
    if (r < 0.68) return rng() < 0.5 ? { kind: 'range', key } : { kind: 'range', key: 'k', end: 'l' };
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
