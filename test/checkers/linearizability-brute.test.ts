// The search prunes (a cache of explored points, reads taken first, undoing
// past reads): each rule is an argument, and this test checks the arguments
// against brute force. Small random histories, many of them broken by swapped
// or shifted answers, get the same verdict from checkLinearizable as from
// trying every order the real-time constraints allow.

import { describe, expect, it } from 'vitest';
import { checkLinearizable, searchOps } from './linearizability.js';
import { step } from './model.js';
import { initialState, type ModelState } from './model-state.js';
import { responseMatches } from './response-match.js';
import { randomHistory, rng } from './fixtures.js';
import type { Operation, Response } from './history.js';

function bruteForce(history: Operation[]): boolean {
  const ops = searchOps(history);
  const go = (state: ModelState, left: typeof ops): boolean => {
    if (left.every((o) => !o.known)) return true;
    return left.some((o, i) => {
      // o may go next only if nothing left returned before it was called.
      if (left.some((p) => p !== o && p.returnTime < o.op.call)) return false;
      const r = step(state, o.request);
      if (o.known && !responseMatches(r.response, o.op.response)) return false;
      return go(r.state, left.filter((_, j) => j !== i));
    });
  };
  return go(initialState(), ops);
}

function shifted(res: Response, by: number): Response {
  return 'revision' in res ? { ...res, revision: res.revision + by } : res;
}

describe('checkLinearizable agrees with brute force', () => {
  it('on 400 small histories, linearizable or broken', () => {
    let broken = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const { ops } = randomHistory(seed, 7, { unknownRate: 0.15, spread: 30 });
      const r = rng(seed);
      let history = ops;
      if (r.chance(0.6)) {
        const i = r.int(ops.length);
        const j = r.int(ops.length);
        history = ops.map((o, k) => {
          if (r.chance(0.5)) return k === i ? { ...o, response: shifted(o.response, r.chance(0.5) ? 1 : -1) } : o;
          // Swap two answers of the same kind.
          if (k === i && ops[j].response.kind === o.response.kind) return { ...o, response: ops[j].response };
          if (k === j && ops[i].response.kind === o.response.kind) return { ...o, response: ops[i].response };
          return o;
        });
      }
      const expected = bruteForce(history);
      if (!expected) broken++;
      const got = checkLinearizable(history);
      if (got.ok !== expected) throw new Error(`seed ${seed}: search says ${got.ok}, brute force ${expected}\n${JSON.stringify(history)}`);
    }
    // Enough of both kinds to mean something.
    expect(broken).toBeGreaterThan(40);
    expect(broken).toBeLessThan(360);
  });
});
