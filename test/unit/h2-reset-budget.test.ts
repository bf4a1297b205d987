// Stream resets a client sends or causes are limited (rapid reset, CVE-2023-44487;
// "MadeYouReset"): nghttp2's token bucket, which Node's HTTP/2 layer applies and
// ours keeps — past it the connection ends with GOAWAY ENHANCE_YOUR_CALM.
import { describe, expect, it } from 'vitest';
import { RESET_BURST, ResetBudget } from '../../src/server/h2/reset-budget.js';

describe('ResetBudget', () => {
  it('allows the burst at once, then refuses until time earns more', () => {
    let now = 0;
    const b = new ResetBudget(3, 10, () => now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    now = 99; // 0.99 of a token
    expect(b.take()).toBe(false);
    now = 100;
    expect([b.take(), b.take()]).toEqual([true, false]);
  });

  it('earns fractions over several calls without losing them', () => {
    let now = 0;
    const b = new ResetBudget(1, 10, () => now);
    expect(b.take()).toBe(true);
    let granted = 0;
    // 1,000 ms in 7 ms steps: 10 tokens earned, each taken as soon as it is whole.
    for (now = 7; now <= 1000; now += 7) if (b.take()) granted++;
    expect(granted).toBe(9); // 994 ms elapsed at the last step: 9.94 tokens
    now = 1000;
    expect(b.take()).toBe(true);
  });

  it('never holds more than the burst however long the connection was quiet', () => {
    let now = 0;
    const b = new ResetBudget(5, 100, () => now);
    now = 3_600_000;
    let granted = 0;
    while (b.take()) granted++;
    expect(granted).toBe(5);
  });

  it('defaults to nghttp2’s 1,000 at once', () => {
    const b = new ResetBudget();
    let granted = 0;
    while (granted <= RESET_BURST && b.take()) granted++;
    expect(granted).toBe(RESET_BURST);
  });
});
