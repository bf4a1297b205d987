// Random histories made by the model itself are linearizable by construction
// (each operation takes effect at a point between its call and return); every
// checker must accept them, and must reject them once one answer is changed
// to one no order of the operations can give.

import { describe, expect, it } from 'vitest';
import { checkLinearizable } from './linearizability.js';
import { checkDurability } from './durability.js';
import { validateWatches } from './watch.js';
import { revisionEvents } from './model-state.js';
import { randomHistory, rng } from './fixtures.js';
import type { Operation, Response } from './history.js';

const SEEDS = Array.from({ length: 25 }, (_, i) => i + 1);

/** One answer changed beyond any linearization: a revision no state reaches, a value never written, a TTL never granted. */
function mutate(res: Response, pick: ReturnType<typeof rng>): Response {
  switch (res.kind) {
    case 'range':
      if (res.kvs.length && pick.chance(0.5)) return { ...res, kvs: res.kvs.map((kv, i) => (i === 0 ? { ...kv, value: 'never-written' } : kv)) };
      return { ...res, revision: res.revision + 10_000 };
    case 'leaseKeepAlive':
      return { ...res, ttl: 5_000 };
    case 'error':
      return res;
    default:
      return { ...res, revision: res.revision + 10_000 };
  }
}

describe('property: model-made histories', () => {
  it.each(SEEDS)('seed %i: linearizable, durable, watchable; one changed answer is caught', (seed) => {
    const { ops, state } = randomHistory(seed, 300, { unknownRate: seed % 5 === 0 ? 0 : 0.05 });
    const lin = checkLinearizable(ops);
    expect(lin.problems).toEqual([]);
    const events = revisionEvents(state);
    // The log the history implies is the log that made it (unknown outcomes here all took effect, but
    // one that no later answer depends on may be left out, so compare only when there were none).
    if (ops.every((o) => o.return !== Infinity)) expect(revisionEvents(lin.state!)).toEqual(events);
    expect(checkDurability(ops, events).problems).toEqual([]);
    const everything = { id: 1, client: 1, request: { key: '\0', end: '\0', startRevision: 2, prevKv: true }, responses: events.map((r, i) => ({ time: i, revision: r.revision, events: r.events })) };
    expect(validateWatches([everything], events).problems).toEqual([]);

    const pick = rng(seed * 7919);
    const candidates = ops.filter((o) => o.return !== Infinity && o.response.kind !== 'error');
    const victim = pick.pick(candidates);
    const mutated: Operation[] = ops.map((o) => (o === victim ? { ...o, response: mutate(o.response, pick) } : o));
    const bad = checkLinearizable(mutated);
    expect(bad.timedOut).toBeUndefined();
    expect(bad.ok).toBe(false);
    expect(bad.problems[0]).toContain('not linearizable');
  });
});
