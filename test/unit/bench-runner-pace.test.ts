// bench/load/runner.ts with --pace: request i is not issued before i/pace seconds
// after the start, over all clients; without it requests go back to back.

import { describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../../bench/load/args.js';
import type { KvTransport, UnaryCallback } from '../../bench/load/pool.js';
import { runWorkload } from '../../bench/load/runner.js';

/** A transport that answers every call on the next macrotask and records when each was issued. */
function fakePool(issuedAt: number[]): KvTransport {
  return {
    endpoints: ['fake'],
    ready: async () => {},
    setToken: () => {},
    close: () => {},
    method: () => (_req: unknown, _opts: unknown, cb: UnaryCallback) => {
      issuedAt.push(performance.now());
      setImmediate(() => cb(null));
    },
  } as unknown as KvTransport;
}

const workload = { method: 'Put' as const, next: () => ({}) };

describe('bench runner pace', () => {
  it('--pace N issues request i no earlier than i/N s after the start, over all clients', async () => {
    const issuedAt: number[] = [];
    const t0 = performance.now();
    const res = await runWorkload(fakePool(issuedAt), workload, { clients: 2, total: 10, timeoutMs: 0, pace: 200 });
    expect(res.completed).toBe(10);
    expect(issuedAt).toHaveLength(10);
    // Slot i starts at i * 5 ms (timers may fire up to ~1 ms early in wall terms: allow 1 ms).
    issuedAt.forEach((t, i) => expect(t - t0).toBeGreaterThanOrEqual(i * 5 - 1));
  });

  it('without a pace, and with --pace 0, requests go back to back: no timer between them', async () => {
    expect(parseArgs(['put']).pace).toBe(0);
    expect(parseArgs(['put', '--pace', '50']).pace).toBe(50);
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const issuedAt: number[] = [];
      // Answers on setImmediate (not faked): only a paced run would wait on a (frozen) setTimeout.
      const res = await runWorkload(fakePool(issuedAt), workload, { clients: 1, total: 50, timeoutMs: 0, pace: 0 });
      expect(res.completed).toBe(50);
      let paced = false;
      void runWorkload(fakePool([]), workload, { clients: 1, total: 3, timeoutMs: 0, pace: 1 }).then(() => (paced = true));
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(paced).toBe(false); // its second request waits for a timer that never fires
    } finally {
      vi.useRealTimers();
    }
  });
});
