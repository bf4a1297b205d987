// The simulation's own parts: the scheduler and virtual time, the network's
// faults (the disk's crash rules: sim-fs.test.ts, the WAL over it:
// wal-crash.test.ts). The whole-cluster runs rely on each.

import { describe, expect, it } from 'vitest';
import { type Message, MessageType, seededRandom } from '../../src/raft/index.js';
import { SimNetwork } from './sim-network.js';
import { drainMicrotasks, installVirtualTime, Scheduler } from './virtual-time.js';

async function runAll(sched: Scheduler, until: number): Promise<void> {
  while (sched.fireNext(until)) await drainMicrotasks();
  await drainMicrotasks();
}

describe('Scheduler and virtual time', () => {
  it('fires timers by time, then in the order they were set; intervals repeat; cancelled ones never fire', () => {
    const s = new Scheduler();
    const fired: string[] = [];
    s.after(10, () => fired.push('a@10'));
    s.after(5, () => fired.push('b@5'));
    s.after(10, () => fired.push('c@10'));
    const stop = s.every(4, () => fired.push(`tick@${s.now()}`));
    const cancel = s.after(7, () => fired.push('never'));
    cancel();
    while (s.fireNext(12)) { /* all due by 12 */ }
    stop();
    expect(fired).toEqual(['tick@4', 'b@5', 'tick@8', 'a@10', 'c@10', 'tick@12']);
    expect(s.nextAt()).toBeUndefined();
  });

  it('stands in for setTimeout, setImmediate, Date.now, performance.now and Math.random while installed, and gives them back', async () => {
    const s = new Scheduler();
    const realNow = Date.now;
    const uninstall = installVirtualTime(s, seededRandom(1));
    const order: string[] = [];
    let t0 = 0;
    try {
      t0 = Date.now();
      setTimeout(() => order.push(`timeout@${performance.now()}`), 50);
      setImmediate(() => order.push(`immediate@${performance.now()}`));
      const handle = setTimeout(() => order.push('cleared'), 10);
      handle.unref();
      clearTimeout(handle);
      expect(Math.random()).toBe(seededRandom(1)());
      await runAll(s, 100);
      expect(Date.now() - t0).toBe(50);
    } finally {
      uninstall();
    }
    expect(order).toEqual(['immediate@0', 'timeout@50']);
    expect(Date.now).toBe(realNow);
    expect(Math.abs(Date.now() - t0)).toBeGreaterThan(1000); // real time again
  });
});

describe('SimNetwork', () => {
  const msg = (from: bigint, to: bigint, type = MessageType.MsgHeartbeat, index = 0): Message =>
    ({ type, from, to, term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array() }) as unknown as Message;

  function net(seed = 1) {
    const s = new Scheduler();
    const n = new SimNetwork(s, seededRandom(seed));
    const got: string[] = [];
    const props: number[] = [];
    const unreachable: string[] = [];
    for (const id of [1n, 2n, 3n]) {
      n.attach(id, {
        step: (m) => {
          got.push(`${m.from}>${m.to}:${m.type}`);
          if (m.type === MessageType.MsgProp) props.push(m.index);
        },
        reportUnreachable: (to) => unreachable.push(`${id}>${to}`),
        reportSnapshot: () => {},
      });
    }
    return { s, n, got, props, unreachable };
  }

  it('a partition loses messages both ways, a one-way cut only one way, and senders hear of it', async () => {
    const { s, n, got, unreachable } = net();
    n.partition([[1n], [2n, 3n]]);
    n.transport(1n).send([msg(1n, 2n)]);
    n.transport(2n).send([msg(2n, 1n), msg(2n, 3n)]);
    await runAll(s, 100);
    expect(got).toEqual([`2>3:${MessageType.MsgHeartbeat}`]);
    expect(unreachable.sort()).toEqual(['1>2', '2>1']);
    n.heal();
    n.cutLink(3n, 1n);
    got.length = 0;
    n.transport(1n).send([msg(1n, 3n)]);
    n.transport(3n).send([msg(3n, 1n)]);
    await runAll(s, 200);
    expect(got).toEqual([`1>3:${MessageType.MsgHeartbeat}`]);
  });

  it('duplicates and reorders under faults, but never duplicates a proposal', async () => {
    const { s, n, got, props } = net(7);
    n.faults = { drop: 0, duplicate: 1, minDelayMs: 1, maxDelayMs: 50 };
    const t = n.transport(1n);
    for (let i = 0; i < 20; i++) t.send([msg(1n, 2n), msg(1n, 2n, MessageType.MsgProp, i)]);
    await runAll(s, 1000);
    expect(props.slice().sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(props).not.toEqual([...Array(20).keys()]); // reordered by the random delays
    expect(got.filter((g) => g.endsWith(`:${MessageType.MsgHeartbeat}`))).toHaveLength(40);
  });
});
