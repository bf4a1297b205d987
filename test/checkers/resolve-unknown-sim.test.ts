// Two histories of the simulation's long run (seeds 300490 and 300552, recorded
// at commit c38e32c with 4 s of load; histories/ holds them as the run left
// them) that failed only because the linearizability search gave up: 17 and 14
// operations of unknown outcome near the end. Resolved from the event log,
// every unknown put and txn turns out never to have taken effect, and the
// search decides both linearizable within a small budget.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkHistory, dropRedundantLeaseRevokes, resolveUnknownWrites, type History, type Operation, type RevisionEvents } from './index.js';

interface Recorded {
  seed: number;
  hash: string;
  simulatedMs: number;
  compactedRevision: number;
  history: History;
  events: RevisionEvents[];
}

function load(seed: number): Recorded {
  const text = gunzipSync(readFileSync(new URL(`./histories/sim-${seed}.json.gz`, import.meta.url))).toString();
  return JSON.parse(text, (_k, v: unknown) => (v === 'Infinity' ? Infinity : v)) as Recorded;
}

/** Every checker on the recorded run with `operations` in place of its own, the search held to `maxSteps`. */
function expectDecidedWithin(run: Recorded, operations: Operation[], maxSteps: number): void {
  const result = checkHistory({ ...run.history, operations }, run.events, {
    linearizability: { maxSteps, timeoutMs: 60_000 },
    durability: { compactedRevision: run.compactedRevision },
    watch: { compactedRevision: run.compactedRevision },
  });
  expect(result.problems).toEqual([]);
  expect(result.linearizability.steps).toBeLessThan(maxSteps);
}

describe('the long run histories that exhausted the search', () => {
  it.each([
    [300490, 8],
    [300552, 5],
  ])('seed %i: decided linearizable once unknown writes are resolved (%i dropped)', (seed, dropped) => {
    const run = load(seed);
    const resolved = resolveUnknownWrites(run.history.operations, run.events, run.history.watches, run.simulatedMs);
    expect(resolved).toMatchObject({ resolved: 0, dropped });
    // Without the resolution the search needs 9.7M steps (300490) and 38.7M (300552).
    expectDecidedWithin(run, resolved.operations, 5_000_000);
  }, 90_000);
});

describe('a long run history whose unknown lease revokes exhausted the search', () => {
  // Seed 400478 (recorded at 1ab889c): a partitioned leader's eight expiry
  // revokes timed out; each lease was revoked again later by the new leader.
  it('seed 400478: decided linearizable once redundant lease revokes are dropped', () => {
    const run = load(400478);
    const resolved = resolveUnknownWrites(run.history.operations, run.events, run.history.watches, run.simulatedMs);
    const revokes = dropRedundantLeaseRevokes(resolved.operations);
    expect(revokes.dropped).toBe(8);
    // Without dropping them the search needs 21.7M steps.
    expectDecidedWithin(run, revokes.operations, 1_000_000);
  }, 90_000);
});
