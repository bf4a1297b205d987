// The store disk of a simulated member (sim-kv-disk.ts): its afterNextBatch
// hook, where the nemesis kills a member the moment a store batch is on disk.

import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/raft/index.js';
import { DB_DIR, SimKvDisk } from './sim-kv-disk.js';
import { drainMicrotasks, installVirtualTime, Scheduler } from './virtual-time.js';

async function runAll(sched: Scheduler, until: number): Promise<void> {
  while (sched.fireNext(until)) await drainMicrotasks();
  await drainMicrotasks();
}

describe('SimKvDisk', () => {
  const put = (key: string) => [{ type: 'put' as const, key: Buffer.from(key), value: Buffer.from('v') }];

  it("tells afterNextBatch once, when the live database's next batch is on disk; a crashed incarnation's batch and a disarmed hook tell nothing", async () => {
    const s = new Scheduler();
    const uninstall = installVirtualTime(s, seededRandom(1));
    try {
      const d = new SimKvDisk(() => 2, () => s.now());
      const first = d.openDb(DB_DIR);
      await first.open();
      const seen: string[] = [];
      // What the disk holds when the hook runs: the batch is already there.
      d.afterNextBatch(() => seen.push(`first:${d.disk.batches}:${d.disk.get(Buffer.from('a')) ? 'a' : '-'}`));
      void first.batch(put('a'));
      void first.batch(put('b'));
      await runAll(s, 10);
      expect(seen).toEqual(['first:1:a']);
      // A batch of the incarnation that died lands on a disk nobody reads: not counted.
      void first.batch(put('c'));
      d.crash('process');
      d.afterNextBatch(() => seen.push(`second:${d.disk.get(Buffer.from('d')) ? 'd' : '-'}`));
      await runAll(s, 20);
      expect(seen).toEqual(['first:1:a']);
      const second = d.openDb(DB_DIR);
      await second.open();
      void second.batch(put('d'));
      await runAll(s, 30);
      expect(seen).toEqual(['first:1:a', 'second:d']);
      const disarm = d.afterNextBatch(() => seen.push('disarmed'));
      disarm();
      void second.batch(put('e'));
      await runAll(s, 40);
      expect(seen).toEqual(['first:1:a', 'second:d']);
    } finally {
      uninstall();
    }
  });
});
