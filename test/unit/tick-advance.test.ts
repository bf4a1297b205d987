// --initial-election-tick-advance (etcd adjustTicks): electionTicks - 2 ticks are
// fast-forwarded once more than one peer is connected, within 5 s of start-up;
// nothing when the peers stay away, or a leader is already known.

import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/server/raft-ports.js';
import { startTickAdvance, TICK_ADVANCE_POLL_MS } from '../../src/server/tick-advance.js';

/** A clock whose time only moves when the test says so. */
function manualClock(): Pick<Clock, 'every' | 'now'> & { advance(ms: number): void; timers: number } {
  let now = 0;
  const timers = new Map<number, { every: number; next: number; fn: () => void }>();
  let seq = 0;
  return {
    get timers() {
      return timers.size;
    },
    every(ms, fn) {
      const id = seq++;
      timers.set(id, { every: ms, next: now + ms, fn });
      return () => timers.delete(id);
    },
    now: () => now,
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.values()].filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
        if (!due) break;
        now = due.next;
        due.next += due.every;
        due.fn();
      }
      now = end;
    },
  };
}

function setup(over: { peers?: () => number; leader?: () => boolean } = {}) {
  const clock = manualClock();
  const advanced: number[] = [];
  const cancel = startTickAdvance({
    clock,
    electionTicks: 10,
    activePeers: over.peers ?? (() => 0),
    leaderKnown: over.leader ?? (() => false),
    advance: (n) => advanced.push(n),
  });
  return { clock, advanced, cancel };
}

describe('initial election tick advance', () => {
  it('advances electionTicks - 2 once more than one peer is active, then stops polling', () => {
    let peers = 0;
    const s = setup({ peers: () => peers });
    s.clock.advance(1000);
    expect(s.advanced).toEqual([]);
    peers = 1; // etcd needs more than one active peer
    s.clock.advance(1000);
    expect(s.advanced).toEqual([]);
    peers = 2;
    s.clock.advance(TICK_ADVANCE_POLL_MS);
    expect(s.advanced).toEqual([8]);
    s.clock.advance(10_000);
    expect(s.advanced).toEqual([8]);
    expect(s.clock.timers).toBe(0);
  });

  it('gives up after 5 s without peers (a later connection advances nothing)', () => {
    let peers = 0;
    const s = setup({ peers: () => peers });
    s.clock.advance(5000);
    expect(s.clock.timers).toBe(0);
    peers = 2;
    s.clock.advance(1000);
    expect(s.advanced).toEqual([]);
  });

  it('advances nothing once a leader is known, or after cancel (member stopping)', () => {
    const led = setup({ peers: () => 2, leader: () => true });
    led.clock.advance(1000);
    expect(led.advanced).toEqual([]);
    expect(led.clock.timers).toBe(0);
    const stopped = setup({ peers: () => 2 });
    stopped.cancel();
    stopped.clock.advance(1000);
    expect(stopped.advanced).toEqual([]);
  });
});
