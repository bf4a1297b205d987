// Linearizability of a KV history against the model of etcd (model.ts), by the
// Wing-Gong-Lowe search as porcupine does it: walk the call/return events in
// time order; at a call, try to take the operation effect now (the model must
// give the recorded response); at a return whose operation has not taken
// effect, backtrack. A cache of (set of linearized operations, model state)
// prunes states already explored. The search is not split per key: every write
// answers with the global revision, which ties all keys together (and makes
// most histories nearly sequential, so the search is fast).
//
// Which operations take part:
// - serializable ranges do not (serializable.ts checks them against the
//   member's own revision);
// - an operation with an unknown outcome (return = Infinity, or an error with
//   definite = false) may take effect at any point after its call, or never;
//   one that cannot change the state (a range, a keep-alive, a read-only txn)
//   is dropped;
// - a definite error with one of etcd's state-dependent texts (compacted,
//   future revision, lease not found, lease exists, duplicate key, TTL too
//   large) is checked like a response: the model must fail the same way where
//   the operation is placed. Any other definite error (no leader, too many
//   requests, ...) had no effect and depends on no state, so it is dropped;
// - a lease grant with id "0" (the server chose the id) is checked with the id
//   the server answered; with an unknown outcome it is dropped;
// - lease expiry is not in the model: a history in which a lease may expire
//   records, per such lease, a leaseRevoke of unknown outcome called when the
//   lease could first expire.
//
// The cache holds hashes, not states: an 84-bit digest of (64-bit operation
// set, 64-bit state hash). A collision would prune a branch that should have
// been explored; at a million cache entries the chance is about 1e-13.

import type { CheckResult, Operation, Request } from './history.js';
import { describeOp, describeResponse } from './describe.js';
import { isWriteRequest, step } from './model.js';
import { initialState, stateHash, type ModelOptions, type ModelState } from './model-state.js';
import { modelErrorIn, responseMatches } from './response-match.js';

export interface LinearizabilityOptions extends ModelOptions {
  /** Give up (timedOut) after this much wall time; default 10 s. */
  timeoutMs?: number;
  /** Give up (timedOut) after this many search steps; default 20 million. */
  maxSteps?: number;
  /** The state before the history (default: an empty store at revision 1). */
  initial?: ModelState;
}

export interface LinearizabilityResult extends CheckResult {
  /** Ids of the operations in the order found, unknown-outcome ones included when they took effect. */
  linearization?: number[];
  /** The search ran out of its budget without deciding (ok is then false). */
  timedOut?: boolean;
  /** Search steps taken (a cost measure). */
  steps: number;
  /**
   * The model state after the linearization found: `revisionEvents(state)` is
   * the per-revision log the history implies (one possible log when operations
   * of unknown outcome could have gone either way).
   */
  state?: ModelState;
}

/** An operation as the search sees it. */
export interface SearchOp {
  op: Operation;
  /** The request stepped (a grant's server-chosen id filled in). */
  request: Request;
  /** The response is known and must match; otherwise the outcome is unknown. */
  known: boolean;
  /** Known, and with its response it changes no state wherever it goes (a read, a refusal, a delete of nothing). */
  readOnly: boolean;
  returnTime: number;
}

/** Drops operations that say nothing about the linearizable state; see the header. */
export function searchOps(ops: readonly Operation[]): SearchOp[] {
  const out: SearchOp[] = [];
  for (const op of ops) {
    const req = op.request;
    if (req.kind === 'range' && req.serializable) continue;
    const res = op.response;
    let known = op.return !== Infinity && !(res.kind === 'error' && !res.definite);
    if (known && res.kind === 'error' && modelErrorIn(res.message) === undefined) continue;
    if (!known && !isWriteRequest(req)) continue;
    let request = req;
    if (req.kind === 'leaseGrant' && (req.id === '0' || req.id === '')) {
      if (!known || res.kind !== 'leaseGrant') continue;
      request = { ...req, id: res.id };
    }
    if (res.kind !== 'error' && op.return === Infinity) known = false;
    const readOnly = known && (!isWriteRequest(request) || res.kind === 'error' || (res.kind === 'delete' && res.deleted === 0));
    out.push({ op, request, known, readOnly, returnTime: known ? op.return : Infinity });
  }
  return out;
}

/** A deterministic 32-bit generator for the operation-set hash (Zobrist hashing). */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The call/return events as a doubly linked list over arrays (node 0 is the head). */
class EventList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** For node k >= 1: the op index, and whether it is the call. */
  readonly opOf: Int32Array;
  readonly isCall: Uint8Array;
  /** The return node of each op. */
  readonly returnNode: Int32Array;

  constructor(ops: readonly SearchOp[]) {
    const events: { op: number; call: boolean; time: number }[] = [];
    ops.forEach((o, i) => {
      events.push({ op: i, call: true, time: o.op.call });
      events.push({ op: i, call: false, time: o.returnTime });
    });
    // Time order; at equal times calls first (touching operations count as
    // concurrent); unknown returns (Infinity) last.
    events.sort((a, b) => {
      if (a.time !== b.time) return a.time < b.time ? -1 : 1;
      if (a.call !== b.call) return a.call ? -1 : 1;
      return a.op - b.op;
    });
    const n = events.length + 1;
    this.next = new Int32Array(n).fill(-1);
    this.prev = new Int32Array(n).fill(-1);
    this.opOf = new Int32Array(n).fill(-1);
    this.isCall = new Uint8Array(n);
    this.returnNode = new Int32Array(ops.length);
    events.forEach((e, i) => {
      const node = i + 1;
      this.opOf[node] = e.op;
      this.isCall[node] = e.call ? 1 : 0;
      if (!e.call) this.returnNode[e.op] = node;
      this.prev[node] = i;
      this.next[i] = node;
    });
  }

  private unlink(node: number): void {
    this.next[this.prev[node]] = this.next[node];
    if (this.next[node] !== -1) this.prev[this.next[node]] = this.prev[node];
  }

  private relink(node: number): void {
    this.next[this.prev[node]] = node;
    if (this.next[node] !== -1) this.prev[this.next[node]] = node;
  }

  /** Takes an op's call and return out of the list (it took effect). */
  lift(callNode: number): void {
    this.unlink(callNode);
    this.unlink(this.returnNode[this.opOf[callNode]]);
  }

  unlift(callNode: number): void {
    this.relink(this.returnNode[this.opOf[callNode]]);
    this.relink(callNode);
  }
}

/**
 * The (operation set, state) pairs explored, as numbers (strings cost more
 * than the model steps): a 52-bit key and a 32-bit check per entry.
 */
class SeenSet {
  private readonly map = new Map<number, number | number[]>();

  /** Adds the pair; false when it was already there. */
  add(setA: number, setB: number, state: [number, number]): boolean {
    const x = (setA ^ state[0]) >>> 0;
    const y = (setB ^ state[1]) >>> 0;
    const key = x * 0x100000 + (y & 0xfffff);
    let check = Math.imul(x ^ (y >>> 7), 0x9e3779b1) ^ Math.imul(y, 0x85ebca6b) ^ setA;
    check = (check ^ (check >>> 15)) >>> 0;
    const old = this.map.get(key);
    if (old === undefined) {
      this.map.set(key, check);
      return true;
    }
    if (typeof old === 'number') {
      if (old === check) return false;
      this.map.set(key, [old, check]);
      return true;
    }
    if (old.includes(check)) return false;
    old.push(check);
    return true;
  }
}

interface Frame {
  node: number;
  state: ModelState;
}

/** The deepest point the search reached before it had to backtrack, for the report. */
interface StuckPoint {
  /** How many operations were linearized, and the last of them (-1: none). */
  depth: number;
  last: number;
  state: ModelState;
  blocking: number;
  candidates: number[];
}

/** The search's position: the state, the operations taken (the stack) and the hash of their set. */
class Search {
  state: ModelState;
  remainingKnown: number;
  readonly stack: Frame[] = [];
  private setA = 0;
  private setB = 0;
  private readonly seen = new SeenSet();
  private readonly zobrist: (readonly [number, number])[];

  constructor(private readonly ops: SearchOp[], private readonly list: EventList, initial: ModelState) {
    const rand = mulberry32(0x5eed);
    this.zobrist = ops.map(() => [rand(), rand()] as const);
    this.state = initial;
    this.remainingKnown = ops.filter((o) => o.known).length;
  }

  /** Takes the op at `node` with the state it leads to, unless that (set, state) was explored already. */
  take(node: number, next: ModelState): boolean {
    const i = this.list.opOf[node];
    const a = (this.setA ^ this.zobrist[i][0]) >>> 0;
    const b = (this.setB ^ this.zobrist[i][1]) >>> 0;
    if (!this.seen.add(a, b, stateHash(next))) return false;
    this.stack.push({ node, state: this.state });
    this.state = next;
    this.setA = a;
    this.setB = b;
    if (this.ops[i].known) this.remainingKnown--;
    this.list.lift(node);
    return true;
  }

  /**
   * Undoes choices up to the last one that can be replaced, and returns the
   * node to try next (-1: nothing left to undo). Undoing a read-only operation
   * cannot help: with its response it changes nothing wherever it goes, so any
   * order that takes it later can take it here instead (every operation that
   * had to come before it already has). So undo past those. (Not so for an
   * unknown outcome: a put refused here may succeed later.)
   */
  backtrack(): number {
    for (;;) {
      const top = this.stack.pop();
      if (top === undefined) return -1;
      const j = this.list.opOf[top.node];
      this.state = top.state;
      this.setA = (this.setA ^ this.zobrist[j][0]) >>> 0;
      this.setB = (this.setB ^ this.zobrist[j][1]) >>> 0;
      if (this.ops[j].known) this.remainingKnown++;
      this.list.unlift(top.node);
      if (!this.ops[j].readOnly) return this.list.next[top.node];
    }
  }

  /**
   * Takes a pending read-only operation that fits the state now, before any
   * write: by the argument above this is never wrong, and it spares the search
   * from trying writes in every order around reads. 'took', 'none', or 'dead'
   * when taking it reaches a point already explored (so this one fails too).
   */
  takeFittingRead(): 'took' | 'none' | 'dead' {
    for (let n = this.list.next[0]; n !== -1 && this.list.isCall[n]; n = this.list.next[n]) {
      const o = this.ops[this.list.opOf[n]];
      if (!o.readOnly) continue;
      const r = step(this.state, o.request);
      if (r.state !== this.state || !responseMatches(r.response, o.op.response)) continue;
      return this.take(n, r.state) ? 'took' : 'dead';
    }
    return 'none';
  }
}

export function checkLinearizable(history: readonly Operation[], opts: LinearizabilityOptions = {}): LinearizabilityResult {
  const ops = searchOps(history);
  const list = new EventList(ops);
  const search = new Search(ops, list, opts.initial ?? initialState(opts));
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const maxSteps = opts.maxSteps ?? 20_000_000;
  let stuck: StuckPoint | undefined;
  let steps = 0;
  let node = -1;
  const fail = (): LinearizabilityResult => ({ ok: false, steps, problems: [stuck ? describeStuck(ops, stuck) : 'not linearizable'] });

  while (search.remainingKnown > 0) {
    if (++steps % 4096 === 0 && (steps >= maxSteps || Date.now() > deadline)) {
      return {
        ok: false, timedOut: true, steps,
        problems: [`linearizability undecided: the search gave up after ${steps} steps (${ops.length} operations, longest linearized prefix ${stuck?.depth ?? search.stack.length})`],
      };
    }
    if (node === -1) {
      // Arrived at a new point: reads that fit go first.
      const read = search.takeFittingRead();
      if (read === 'took') continue;
      if (read === 'dead') {
        node = search.backtrack();
        if (node === -1) return fail();
        continue;
      }
      node = list.next[0];
    }
    const o = ops[list.opOf[node]];
    if (list.isCall[node]) {
      // Read-only operations were tried at this state on arrival.
      if (!o.readOnly) {
        const r = step(search.state, o.request);
        if ((!o.known || responseMatches(r.response, o.op.response)) && search.take(node, r.state)) {
          node = -1;
          continue;
        }
      }
      node = list.next[node];
      continue;
    }
    // A return whose operation has not taken effect: undo the last choice.
    if (stuck === undefined || search.stack.length > stuck.depth) stuck = stuckPoint(list, search.stack, ops, search.state, node);
    node = search.backtrack();
    if (node === -1) return fail();
  }
  // Each frame holds the operation taken and the state before it: the stack is the order found.
  return { ok: true, problems: [], steps, state: search.state, linearization: search.stack.map((f) => ops[list.opOf[f.node]].op.id) };
}

function stuckPoint(list: EventList, stack: Frame[], ops: SearchOp[], state: ModelState, blockingNode: number): StuckPoint {
  const candidates: number[] = [];
  for (let n = list.next[0]; n !== blockingNode && n !== -1; n = list.next[n]) if (list.isCall[n]) candidates.push(list.opOf[n]);
  return {
    depth: stack.length,
    last: stack.length ? list.opOf[stack[stack.length - 1].node] : -1,
    state,
    blocking: list.opOf[blockingNode],
    candidates: candidates.filter((c) => ops[c].known || c === list.opOf[blockingNode]),
  };
}

function describeStuck(ops: SearchOp[], p: StuckPoint): string {
  const expect = (i: number): string => {
    const r = step(p.state, ops[i].request);
    return `${describeOp(ops[i].op)}; the model answers ${describeResponse(r.response)}`;
  };
  const last = p.last >= 0 ? `, the last ${describeOp(ops[p.last].op)}` : '';
  const others = p.candidates.filter((c) => c !== p.blocking).slice(0, 10);
  const lines = [
    `not linearizable: after the longest linearizable prefix found (${p.depth} operations${last}; store at revision ${p.state.revision}),`,
    `  ${expect(p.blocking)}: it must take effect before it returned, but it cannot`,
  ];
  if (others.length) {
    lines.push('  and none of the operations concurrent with it can go first:');
    for (const c of others) lines.push(`    ${expect(c)}`);
  }
  return lines.join('\n');
}
