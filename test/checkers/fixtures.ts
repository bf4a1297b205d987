// Builders for the checkers' tests: histories written by hand, and random
// histories produced by running the model (linearizable by construction).

import type { Operation, Request, Response } from './history.js';
import { step } from './model.js';
import { initialState, type ModelState } from './model-state.js';

export function op(id: number, client: number, call: number, ret: number, request: Request, response: Response): Operation {
  return { id, client, call, return: ret, request, response };
}

export const kv = (key: string, value: string, createRevision: number, modRevision: number, version: number, lease = '0') =>
  ({ key, value, createRevision, modRevision, version, lease });

/** Runs the requests one after another on the model: one client, no overlap. */
export function sequential(requests: Request[], start: ModelState = initialState()): { ops: Operation[]; state: ModelState } {
  let state = start;
  const ops = requests.map((request, i) => {
    const r = step(state, request);
    state = r.state;
    return op(i, 0, i * 10, i * 10 + 5, request, r.response);
  });
  return { ops, state };
}

/** A small deterministic generator (tests must replay). */
export function rng(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean } {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

const KEYS = ['a', 'b', 'c', 'd', 'e'];
const LEASES = ['101', '102', '103'];

/** One random request over a small key space, valid or not against `state`. */
export function randomRequest(r: ReturnType<typeof rng>, state: ModelState, n: number): Request {
  const key = r.pick(KEYS);
  const lease = r.chance(0.15) ? r.pick(LEASES) : undefined;
  switch (r.int(12)) {
    case 0: case 1: case 2:
      return { kind: 'put', key, value: `v${n}`, ...(lease ? { lease } : {}) };
    case 3:
      return { kind: 'delete', key, ...(r.chance(0.3) ? { end: '\0' } : {}) };
    case 4: case 5:
      return { kind: 'range', key, ...(r.chance(0.3) ? { end: r.pick(['c', '\0']) } : {}) };
    case 6:
      return { kind: 'range', key: 'a', end: '\0', revision: 1 + r.int(state.revision), ...(r.chance(0.3) ? { limit: 2 } : {}) };
    case 7: case 8:
      return {
        kind: 'txn',
        compare: [{ key, target: r.pick(['value', 'version', 'mod', 'create'] as const), op: r.pick(['=', '!=', '<', '>'] as const), operand: r.chance(0.5) ? `v${r.int(n + 1)}` : r.int(4) }],
        success: [{ kind: 'put', key, value: `t${n}` }, { kind: 'range', key: r.pick(KEYS) }],
        failure: [{ kind: 'range', key }, ...(r.chance(0.5) ? [{ kind: 'delete' as const, key: r.pick(KEYS.filter((k) => k !== key)) }] : [])],
      };
    case 9:
      return { kind: 'compact', revision: Math.max(1, state.revision - r.int(4)) };
    case 10:
      return { kind: 'leaseGrant', id: r.pick(LEASES), ttl: 1 + r.int(30) };
    default:
      return r.chance(0.5) ? { kind: 'leaseRevoke', id: r.pick(LEASES) } : { kind: 'leaseKeepAlive', id: r.pick(LEASES) };
  }
}

/**
 * A random concurrent history that is linearizable by construction: the
 * model answers the requests in order; operation i takes effect at time 10·i
 * and its call and return are spread around that point; clients are assigned
 * so each has one call outstanding at a time. With `unknownRate`, some writes
 * lose their answer (return Infinity).
 */
export function randomHistory(seed: number, count: number, opts: { unknownRate?: number; spread?: number } = {}): { ops: Operation[]; state: ModelState } {
  const r = rng(seed);
  const spread = opts.spread ?? 25;
  let state = initialState();
  const clientFree: number[] = [];
  const ops: Operation[] = [];
  for (let i = 0; i < count; i++) {
    const request = randomRequest(r, state, i);
    const res = step(state, request);
    state = res.state;
    const at = 10 * i;
    const call = at - r.int(spread);
    let ret = at + 1 + r.int(spread);
    let response = res.response;
    if (opts.unknownRate && r.chance(opts.unknownRate) && request.kind !== 'range' && request.kind !== 'leaseKeepAlive') {
      ret = Infinity;
      response = { kind: 'error', message: 'context deadline exceeded', definite: false };
    }
    let client = clientFree.findIndex((free) => free < call);
    if (client === -1) client = clientFree.push(0) - 1;
    clientFree[client] = ret;
    ops.push(op(i, client, call, ret, request, response));
  }
  return { ops, state };
}
