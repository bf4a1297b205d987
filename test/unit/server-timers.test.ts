// A stopped server leaves no timers behind: every interval a part of src/server
// starts is cleared when the server stops (see also transport.test.ts for the peer
// transport and server-read-index.test.ts for the ReadIndexer).

import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchService } from '../../src/server/api/watch.js';
import type { ServerInfo, WatchSource } from '../../src/server/api/ports.js';
import type { WatchHub } from '../../src/mvcc/index.js';
import { ReadIndexer } from '../../src/server/read-index.js';

// Fake timers count unref'd timers too (process.getActiveResourcesInfo() does not).
const timers = (): number => vi.getTimerCount();

describe('timers of a stopped server', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('the Watch service clears its leader monitor when the server stops', () => {
    const onStop: (() => void)[] = [];
    const source: WatchSource = {
      watchHub: {} as WatchHub, // no stream is opened: the hub is never touched
      metrics: { watchStreams: { inc() {}, dec() {} }, watchBufferedBytes: { inc() {} } },
      onStop: (fn) => void onStop.push(fn),
    };
    const info: ServerInfo = { memberId: 1n, clusterId: 2n, leader: 1n, term: 3, header: () => ({ clusterId: 2n, memberId: 1n, revision: 0n, raftTerm: 3n }) };
    const limits = { maxRequestBytes: 1.5 * 1024 * 1024, electionMs: 1000, watchProgressNotifyIntervalMs: 600_000 };
    const before = timers();
    watchService(source, info, limits, pino({ level: 'silent' }));
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
