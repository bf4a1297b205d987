// The Lock and Election acceptance scenarios of issue 14, written once against
// small interfaces so lock-election.test.ts runs them over gRPC and over the
// /v3 JSON gateway alike: N contenders taking one lock round after round, and
// three candidates reigning in turn while observers on every member watch.
import { expect } from 'vitest';
import { sleep, waitFor } from './cluster.js';

const hex = (id: bigint): string => id.toString(16);

/** One contender's view of the cluster (through one member). */
export interface LockContender {
  lock(name: string, lease: bigint): Promise<string>;
  unlock(key: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
}

/**
 * Every contender takes lock `name` `rounds` times and, holding it, does a
 * read-modify-write of `counter` that loses updates if two overlap. Checks
 * that no two were ever inside together, no update was lost, every contender
 * got in, and no lock key is left behind.
 */
export async function expectMutualExclusion(
  contenders: { lease: bigint; client: LockContender }[],
  opts: { name: string; counter: string; rounds: number; keysUnder(prefix: string): Promise<string[]> },
): Promise<void> {
  let inside = 0;
  let overlaps = 0;
  const holders: number[] = [];
  await Promise.all(contenders.map(async ({ lease, client }, i) => {
    for (let r = 0; r < opts.rounds; r++) {
      const key = await client.lock(opts.name, lease);
      expect(key).toBe(`${opts.name}/${hex(lease)}`);
      if (++inside > 1) overlaps++;
      holders.push(i);
      const n = Number((await client.get(opts.counter)) ?? '0');
      await client.put(opts.counter, String(n + 1));
      inside--; // before Unlock is sent: the next holder can only be told after it
      await client.unlock(key);
    }
  }));
  expect(overlaps).toBe(0);
  expect(await contenders[0]!.client.get(opts.counter)).toBe(String(contenders.length * opts.rounds));
  expect(new Set(holders).size).toBe(contenders.length);
  expect(await opts.keysUnder(`${opts.name}/`)).toEqual([]);
}

/** One candidate's view of an election (through one member); L is the protocol's leader key. */
export interface Candidate<L> {
  campaign(name: string, lease: bigint, value: string): Promise<L>;
  proclaim(leader: L, value: string): Promise<void>;
  resign(leader: L): Promise<void>;
}

export interface Observation {
  key: string;
  value: string;
  revision: bigint;
}

/**
 * Three candidates (one per member) campaign for `name` in turn, each waiting
 * behind the one before; each leader proclaims new values through another
 * member's candidate, then resigns. Every observer (`observed()` returns what
 * it has seen so far) must see exactly the same leaders and values, in the same
 * order, at increasing revisions, and nothing more.
 */
export async function expectObserversAgree<L>(
  name: string,
  candidates: [Candidate<L>, Candidate<L>, Candidate<L>],
  leases: [bigint, bigint, bigint],
  observers: (() => Observation[])[],
  keysUnder: (prefix: string) => Promise<string[]>,
): Promise<void> {
  const expected: string[] = [];
  const leaderKey = (i: number): string => `${name}/${hex(leases[i]!)}`;
  const seen = (o: () => Observation[]): string[] => o().map((r) => `${r.key}=${r.value}`);
  const saw = async (entry: string): Promise<void> => {
    expected.push(entry);
    await waitFor(`${expected.length} observations on every observer`, 15_000, async () =>
      (observers.every((o) => o().length >= expected.length) ? true : undefined), 20);
  };
  const candidatesUnder = async (n: number): Promise<void> => {
    await waitFor(`${n} candidates under ${name}/`, 10_000, async () => ((await keysUnder(`${name}/`)).length === n ? true : undefined));
  };
  const reign = async (i: number, leader: L, values: string[]): Promise<void> => {
    for (const v of values) {
      await candidates[(i + 1) % 3]!.proclaim(leader, v); // through another member
      await saw(`${leaderKey(i)}=${v}`);
    }
    await candidates[i]!.resign(leader);
  };

  const first = await candidates[0].campaign(name, leases[0], 'c0-0');
  await saw(`${leaderKey(0)}=c0-0`);
  const second = candidates[1].campaign(name, leases[1], 'c1-0');
  await candidatesUnder(2);
  const third = candidates[2].campaign(name, leases[2], 'c2-0');
  await candidatesUnder(3);
  await reign(0, first, ['c0-1', 'c0-2']);
  const w1 = await second;
  await saw(`${leaderKey(1)}=c1-0`);
  await reign(1, w1, ['c1-1']);
  const w2 = await third;
  await saw(`${leaderKey(2)}=c2-0`);
  await reign(2, w2, ['c2-1', 'c2-2']);
  await sleep(300); // anything more (a duplicate, a delete) would show now
  for (const o of observers) {
    expect(seen(o)).toEqual(expected);
    const revs = o().map((r) => r.revision);
    expect([...revs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(revs);
  }
}
