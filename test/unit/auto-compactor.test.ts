import { describe, expect, it } from 'vitest';
import { AutoCompactor, parseCompactionRetention, parseGoDuration, type CompactorClock } from '../../src/server/auto-compactor.js';

/** A clock tests advance by hand; sleeps resolve once time reaches them. */
class FakeClock implements CompactorClock {
  t = 0;
  private sleepers: { at: number; r: () => void }[] = [];
  now(): number { return this.t; }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((r) => {
      this.sleepers.push({ at: this.t + ms, r });
      signal.addEventListener('abort', () => r());
    });
  }
  async advance(ms: number, step = ms): Promise<void> {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + step);
      const due = this.sleepers.filter((s) => s.at <= this.t);
      this.sleepers = this.sleepers.filter((s) => s.at > this.t);
      for (const s of due) s.r();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    }
  }
}

describe('auto-compaction retention parsing (etcd parseCompactionRetention)', () => {
  it('bare numbers are hours (periodic) or revisions (revision); durations as Go parses them', () => {
    expect(parseCompactionRetention('periodic', '1')).toEqual({ mode: 'periodic', retention: 3_600_000 });
    expect(parseCompactionRetention('periodic', '0')).toEqual({ mode: 'periodic', retention: 0 });
    expect(parseCompactionRetention('periodic', '30m').retention).toBe(1_800_000);
    expect(parseCompactionRetention('periodic', '1h30m').retention).toBe(5_400_000);
    expect(parseCompactionRetention('periodic', '5s').retention).toBe(5000);
    expect(parseCompactionRetention('revision', '1000')).toEqual({ mode: 'revision', retention: 1000 });
    expect(() => parseCompactionRetention('periodic', 'abc')).toThrow('error parsing CompactionRetention: time: invalid duration "abc"');
    expect(() => parseCompactionRetention('daily', '1')).toThrow('unknown auto-compaction-mode "daily"');
    expect(parseGoDuration('1.5h')).toBe(5_400_000);
    expect(parseGoDuration('250ms')).toBe(250);
  });
});

describe('AutoCompactor', () => {
  function setup(mode: 'periodic' | 'revision', retention: number, leader = true) {
    const clock = new FakeClock();
    let rev = 1;
    const compacted: number[] = [];
    const state = { leader };
    const c = new AutoCompactor({ mode, retention }, {
      rev: () => rev,
      isLeader: () => state.leader,
      compact: async (r) => { compacted.push(r); },
    }, clock);
    const bump = (n: number) => { rev += n; };
    return { clock, c, compacted, state, bump, rev: () => rev };
  }

  it('periodic 1h: nothing in the first hour, then the revision of an hour ago, every hour (sampled every 6 min)', async () => {
    const { clock, c, compacted, bump } = setup('periodic', 3_600_000);
    c.start();
    // One revision per minute.
    for (let min = 0; min < 59; min++) { bump(1); await clock.advance(60_000); }
    expect(compacted).toEqual([]);
    for (let min = 59; min < 61; min++) { bump(1); await clock.advance(60_000); }
    expect(compacted).toHaveLength(1);
    // The revision sampled at start (1) — one hour before the compaction.
    expect(compacted[0]).toBe(1);
    for (let min = 61; min < 125; min++) { bump(1); await clock.advance(60_000); }
    expect(compacted).toHaveLength(2);
    expect(compacted[1]).toBeGreaterThan(50);
    await c.stop();
  });

  it('periodic 24h: first compaction after 24h, then hourly', async () => {
    const { clock, c, compacted, bump } = setup('periodic', 24 * 3_600_000);
    c.start();
    for (let h = 0; h < 23; h++) { bump(10); await clock.advance(3_600_000, 360_000); }
    expect(compacted).toEqual([]);
    for (let h = 23; h < 26; h++) { bump(10); await clock.advance(3_600_000, 360_000); }
    expect(compacted.length).toBeGreaterThanOrEqual(2);
    expect(compacted.length).toBeLessThanOrEqual(3);
    await c.stop();
  });

  it('revision mode: every 5 minutes compacts at current − retention, never twice at the same revision', async () => {
    const { clock, c, compacted, bump } = setup('revision', 10);
    c.start();
    bump(5);
    await clock.advance(300_000);
    expect(compacted).toEqual([]); // 6 − 10 ≤ 0
    bump(100);
    await clock.advance(300_000);
    expect(compacted).toEqual([96]);
    await clock.advance(300_000);
    expect(compacted).toEqual([96]);
    bump(1);
    await clock.advance(300_000);
    expect(compacted).toEqual([96, 97]);
    await c.stop();
  });

  it('a follower does not compact', async () => {
    const { clock, c, compacted, bump, state } = setup('revision', 1, false);
    c.start();
    bump(50);
    await clock.advance(900_000, 300_000);
    expect(compacted).toEqual([]);
    state.leader = true;
    await clock.advance(300_000);
    expect(compacted).toEqual([50]);
    await c.stop();
  });
});
