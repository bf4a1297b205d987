// A stopped server leaves no timers behind: every interval a part of src/server
// starts is cleared when the server stops (see also transport.test.ts for the peer
// transport and server-read-index.test.ts for the ReadIndexer).

import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchService } from '../../src/server/api/watch.js';
import type { EtcdServer } from '../../src/server/etcd-server.js';
import { ReadIndexer } from '../../src/server/read-index.js';

// Fake timers count unref'd timers too (process.getActiveResourcesInfo() does not).
const timers = (): number => vi.getTimerCount();

describe('timers of a stopped server', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('the Watch service clears its leader monitor when the server stops', () => {
    const onStop: (() => void)[] = [];
    const fake = {
      cfg: { electionMs: 1000, watchProgressNotifyIntervalMs: 600_000 },
      leader: 1n,
      watchHub: {},
      onStop: (fn: () => void) => void onStop.push(fn),
    } as unknown as EtcdServer;
    const before = timers();
    watchService(fake, pino({ level: 'silent' }));
    expect(timers()).toBe(before + 1);
    for (const fn of onStop) fn();
    expect(timers()).toBe(before);
  });

  it('the ReadIndexer clears its retry and no-leader timers on failAll', async () => {
    const before = timers();
    const r = new ReadIndexer(() => {}, () => Promise.resolve(), 60_000, 10_000, {
      memberId: 1n,
      leader: () => 0n,
      noLeaderWaitMs: 30_000,
    });
    const p = r.barrier();
    expect(timers()).toBeGreaterThan(before);
    r.failAll(new Error('stopped'));
    await expect(p).rejects.toThrow('stopped');
    expect(timers()).toBe(before);
  });
});
