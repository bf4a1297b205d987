// The one fatal-stop path the Raft loop and the applier share: one fatal log line
// with the reason, one orderly stop, exit 1 — however many times it is called.

import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { ApplyFailure } from '../../src/server/apply/index.js';
import { fatalStopper } from '../../src/server/fatal-stop.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

describe('fatalStopper', () => {
  it('logs the entry and the reason at fatal, stops once and exits 1', async () => {
    const { logger, lines } = capture();
    const stop = vi.fn(() => Promise.resolve());
    const exited = new Promise<number>((res) => {
      const fatal = fatalStopper({ logger, stop, exit: res });
      const failure = new ApplyFailure(7, 'put failed', new Error('IO error: No space left on device'));
      fatal(failure, { index: failure.index });
      fatal(new Error('the Raft loop failed too'));
    });
    expect(await exited).toBe(1);
    expect(stop).toHaveBeenCalledTimes(1);
    const fatals = lines.filter((l) => l['level'] === 60);
    expect(fatals).toHaveLength(1);
    expect(fatals[0]!['index']).toBe(7);
    expect(fatals[0]!['msg']).toBe('cannot apply committed entry 7: put failed: Error: IO error: No space left on device; member stopping');
    expect(String(fatals[0]!['stack'])).toMatch(/^Error: IO error: No space left on device\n/); // the cause's stack
  });

  it('exits 1 even when stopping fails or hangs', async () => {
    const { logger } = capture();
    const failing = new Promise<number>((res) =>
      fatalStopper({ logger, stop: () => Promise.reject(new Error('close failed')), exit: res })(new Error('x')),
    );
    expect(await failing).toBe(1);
    const hanging = new Promise<number>((res) =>
      fatalStopper({ logger, stop: () => new Promise(() => {}), exit: res, graceMs: 20 })(new Error('x')),
    );
    expect(await hanging).toBe(1);
  });
});
