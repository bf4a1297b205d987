// runSoon runs where queueMicrotask would: after the synchronous code, in the
// order microtasks were queued (the Raft driver's kick and a peer stream's flush
// rely on that order, and the simulation on its determinism).
import { describe, expect, it } from 'vitest';
import { runSoon } from '../../src/util/microtask.js';

describe('runSoon', () => {
  it('runs after the synchronous code, in queue order with other microtasks, before timers', async () => {
    const order: string[] = [];
    setTimeout(() => order.push('timer'), 0);
    runSoon(() => order.push('a'));
    queueMicrotask(() => order.push('b'));
    void Promise.resolve().then(() => order.push('c'));
    runSoon(() => {
      order.push('d');
      runSoon(() => order.push('f')); // queued from a microtask: still before any timer
    });
    queueMicrotask(() => order.push('e'));
    order.push('sync');
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(['sync', 'a', 'b', 'c', 'd', 'e', 'f', 'timer']);
  });
});
