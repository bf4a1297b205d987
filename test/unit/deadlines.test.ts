// Deadlines (src/server/waiters.ts): one sweeping timer rejects the requests
// that outlived the timeout; a request that settled, or whose entry was
// released, is dropped from the queue without being touched, and the timer
// stops once nothing is tracked.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines, deferred } from '../../src/server/waiters.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('Deadlines', () => {
  it('rejects what is still pending at its deadline, and only that', async () => {
    const dl = new Deadlines(1_000, () => new Error('timed out'), 100);
    const late = deferred<string>();
    dl.track(late);
    vi.advanceTimersByTime(500);
    const early = deferred<string>();
    dl.track(early);
    const lateResult = late.promise.catch((e: Error) => e.message);
    vi.advanceTimersByTime(600); // late is past its deadline, early is not
    expect(await lateResult).toBe('timed out');
    expect(early.settled).toBe(false);
    early.resolve('ok');
    expect(await early.promise).toBe('ok');
    vi.advanceTimersByTime(1_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets go of a released entry at the next sweep without rejecting it, and then stops its timer', () => {
    const dl = new Deadlines(1_000, () => new Error('timed out'), 100);
    const d = deferred<string>();
    const entry = dl.track(d);
    entry.release();
    expect(entry.d).toBeUndefined();
    vi.advanceTimersByTime(100);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(2_000);
    expect(d.settled).toBe(false); // its owner settles it, not the sweep
  });

  it('a released entry at the head does not hold back the expired ones behind it', async () => {
    const dl = new Deadlines(1_000, () => new Error('timed out'), 100);
    const first = deferred<void>();
    const second = deferred<void>();
    const entry = dl.track(first);
    dl.track(second);
    entry.release();
    const rejected = second.promise.catch((e: Error) => e.message);
    vi.advanceTimersByTime(1_100);
    expect(await rejected).toBe('timed out');
    expect(first.settled).toBe(false);
  });
});
