// Simulated time for whole members in one process. The member's code reads time
// and sets timers in ~30 places (proposal and read timeouts, waiter sweeps, the
// backend's flush timer, the watch hub's sync loop, lease expiry, request ids,
// ...). Rather than thread a clock through every one of them, a simulation run
// installs this scheduler in place of the global timer functions, Date.now,
// performance.now and Math.random, and takes it out again afterwards: the code
// under test runs unchanged, and every timer fires at a simulated time, in one
// order (time, then the order it was set), from one event queue. Real time
// never leaks in, so a seed gives one exact run.
//
// The Raft driver's tick timer comes through its Clock port (raft-ports.ts),
// which the simulation also backs with this scheduler.

import { createHook } from 'node:async_hooks';
import type { Cancel, Clock } from '../../src/server/raft-ports.js';

interface Timer {
  id: number;
  at: number;
  delay: number;
  seq: number;
  period: number;
  fn: () => void;
  cancelled: boolean;
}

/** A Node Timeout look-alike: the code under test calls unref()/ref()/refresh() on what setTimeout returns. */
class VirtualTimeout {
  constructor(public timer: Timer, private readonly sched: Scheduler) {}
  unref(): this { return this; }
  ref(): this { return this; }
  hasRef(): boolean { return true; }
  refresh(): this {
    this.sched.cancel(this.timer);
    this.timer = this.sched.add(this.timer.delay, this.timer.period, this.timer.fn);
    return this;
  }
  [Symbol.toPrimitive](): number { return this.timer.id; }
}

/** Epoch of simulated wall-clock time (Date.now() = EPOCH + simulated ms). */
const EPOCH = Date.UTC(2026, 0, 1);

/** A discrete-event scheduler: a binary heap of timers ordered by (time, sequence). */
export class Scheduler implements Clock {
  private t = 0;
  private seq = 0;
  private heap: Timer[] = [];
  private readonly byId = new Map<number, Timer>();
  /** Timers fired so far (a cheap progress measure). */
  fired = 0;

  now(): number {
    return this.t;
  }

  every(ms: number, fn: () => void): Cancel {
    const timer = this.add(ms, Math.max(1, ms), fn);
    return () => this.cancel(timer);
  }

  /** A one-shot event `ms` from now. */
  after(ms: number, fn: () => void): Cancel {
    const timer = this.add(ms, 0, fn);
    return () => this.cancel(timer);
  }

  add(ms: number, period: number, fn: () => void): Timer {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: Timer = { id: ++this.seq, at: this.t + delay, delay, seq: this.seq, period, fn, cancelled: false };
    this.byId.set(timer.id, timer);
    this.push(timer);
    return timer;
  }

  cancel(timer: Timer | undefined): void {
    if (!timer) return;
    timer.cancelled = true;
    this.byId.delete(timer.id);
  }

  cancelId(id: number): void {
    this.cancel(this.byId.get(id));
  }

  /** The time of the next live timer, or undefined when none is set. */
  nextAt(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.at;
  }

  /** Fires the earliest timer (moving time to it) if it is due by `limit`; false when none is. */
  fireNext(limit: number): boolean {
    this.dropCancelled();
    const top = this.heap[0];
    if (!top || top.at > limit) return false;
    this.pop();
    if (top.at > this.t) this.t = top.at;
    if (top.period > 0) {
      top.at = this.t + top.period;
      top.seq = ++this.seq;
      this.push(top);
    } else this.byId.delete(top.id);
    this.fired++;
    top.fn();
    return true;
  }

  /** Moves time to `t` (no timer may be due before it). */
  moveTo(t: number): void {
    if (t > this.t) this.t = t;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(timer: Timer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** The real functions, captured at load, for the simulation's own use (draining microtasks). */
export const real = {
  setImmediate: globalThis.setImmediate,
  setTimeout: globalThis.setTimeout,
  dateNow: Date.now,
  performanceNow: performance.now.bind(performance),
  random: Math.random,
};

/** Lets every queued microtask (and those they queue) run: one real macrotask turn. */
export function drainMicrotasks(): Promise<void> {
  return new Promise<void>((r) => real.setImmediate(r));
}

type AnyFn = (...args: unknown[]) => void;

/**
 * Puts `sched` (and `random`) in place of the global clock, timers and
 * Math.random; returns the function that restores the real ones.
 */
export function installVirtualTime(sched: Scheduler, random: () => number): () => void {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = {
    setTimeout: g.setTimeout, clearTimeout: g.clearTimeout, setInterval: g.setInterval, clearInterval: g.clearInterval,
    setImmediate: g.setImmediate, clearImmediate: g.clearImmediate, dateNow: Date.now, perfNow: performance.now, random: Math.random,
  };
  const start = (ms: unknown, period: number, fn: unknown, args: unknown[]): VirtualTimeout => {
    const f = fn as AnyFn;
    const timer = sched.add(Number(ms) || 0, period, () => f(...args));
    return new VirtualTimeout(timer, sched);
  };
  const clear = (t: unknown): void => {
    if (t instanceof VirtualTimeout) sched.cancel(t.timer);
    else if (typeof t === 'number') sched.cancelId(t);
  };
  g.setTimeout = (fn: unknown, ms?: unknown, ...args: unknown[]) => start(ms, 0, fn, args);
  g.setInterval = (fn: unknown, ms?: unknown, ...args: unknown[]) => start(ms, Math.max(1, Number(ms) || 1), fn, args);
  g.setImmediate = (fn: unknown, ...args: unknown[]) => start(0, 0, fn, args);
  g.clearTimeout = clear;
  g.clearInterval = clear;
  g.clearImmediate = clear;
  Date.now = () => EPOCH + Math.floor(sched.now());
  performance.now = () => sched.now();
  Math.random = random;
  return () => {
    Object.assign(g, {
      setTimeout: saved.setTimeout, clearTimeout: saved.clearTimeout, setInterval: saved.setInterval,
      clearInterval: saved.clearInterval, setImmediate: saved.setImmediate, clearImmediate: saved.clearImmediate,
    });
    Date.now = saved.dateNow;
    performance.now = saved.perfNow;
    Math.random = saved.random;
  };
}

/** Resources that mean real I/O (files, sockets, DNS): their completion time is real time, not simulated. */
const REAL_IO = /^(FSREQ|FILEHANDLE|TCP|UDP|PIPE|GETADDRINFO|GETNAMEINFO|SHUTDOWNWRAP|WRITEWRAP|STATWATCHER|FSEVENTWRAP)/;

/**
 * Watches for real I/O started while the simulation runs: any would make the
 * run depend on real time. With `timers`, real timers count too (a module that
 * kept the real setTimeout); off under vitest, whose worker sets its own.
 * Returns a function that stops watching and returns what was seen (resource
 * type and count).
 */
export function watchRealIo(opts: { timers?: boolean } = {}): () => Map<string, number> {
  const seen = new Map<string, number>();
  const hook = createHook({
    init(_id, type) {
      if (REAL_IO.test(type) || (opts.timers === true && type === 'Timeout')) seen.set(type, (seen.get(type) ?? 0) + 1);
    },
  });
  hook.enable();
  return () => {
    hook.disable();
    return seen;
  };
}
