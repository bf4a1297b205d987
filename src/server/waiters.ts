// Small synchronisation helpers for the server: proposers waiting for their entry
// to be applied, and readers waiting for the applied index to reach a read point.

export interface Deferred<T> {
  promise: Promise<T>;
  settled: boolean;
  resolve(v: T): void;
  reject(e: Error): void;
}

export function deferred<T>(): Deferred<T> {
  return new PromiseBox<T>();
}

/**
 * One per proposal and per read wait: a class, so that its methods are shared
 * rather than three closures made per instance.
 */
class PromiseBox<T> implements Deferred<T> {
  readonly promise: Promise<T>;
  settled = false;
  private res!: (v: T) => void;
  private rej!: (e: Error) => void;

  constructor() {
    this.promise = new Promise<T>((a, b) => {
      this.res = a;
      this.rej = b;
    });
  }

  resolve(v: T): void {
    this.settled = true;
    this.res(v);
  }

  reject(e: Error): void {
    this.settled = true;
    this.rej(e);
  }
}

/**
 * A request's place in Deadlines' queue. release() when the request is done: the
 * queue otherwise holds its Deferred, and through it the promise's result, until
 * the sweep reaches it (up to sweepMs later), long enough for a scavenge or two to
 * copy it and promote it into the old generation, where only a mark-compact frees
 * it (2026-12-06: about a twentieth of what a put's leader promoted).
 */
export class DeadlineEntry {
  constructor(
    readonly at: number,
    public d: Deferred<unknown> | undefined,
  ) {}

  release(): void {
    this.d = undefined;
  }
}

/**
 * Request deadlines without a timer per request: every request waits the same
 * time, so deadlines arrive in insertion order and one sweeping timer finds the
 * expired ones at the head of a queue. (A timer per request showed up in profiles
 * and kept short-lived requests alive into the old generation.)
 */
export class Deadlines {
  private queue: DeadlineEntry[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly makeError: () => Error,
    private readonly sweepMs = Math.max(10, Math.min(100, timeoutMs / 4)),
  ) {}

  /** Rejects `d` with the timeout error unless it settles (or the entry is released) within the timeout. */
  track<T>(d: Deferred<T>): DeadlineEntry {
    const entry = new DeadlineEntry(Date.now() + this.timeoutMs, d as Deferred<unknown>);
    this.queue.push(entry);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.sweepMs);
      this.timer.unref();
    }
    return entry;
  }

  private sweep(): void {
    const now = Date.now();
    while (this.head < this.queue.length) {
      const { at, d } = this.queue[this.head]!;
      if (d !== undefined && !d.settled && at > now) break;
      this.head++;
      if (d !== undefined && !d.settled) d.reject(this.makeError());
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Resolves waiters once a monotonically growing index reaches their target. */
export class IndexWaiter {
  private current: number;
  // Kept sorted by target; most waits are for the newest index, so inserts land at the end.
  private waiting: { target: number; d: Deferred<void> }[] = [];

  constructor(start: number) {
    this.current = start;
  }

  get index(): number {
    return this.current;
  }

  wait(target: number): Promise<void> {
    if (target <= this.current) return Promise.resolve();
    const d = deferred<void>();
    let i = this.waiting.length;
    while (i > 0 && this.waiting[i - 1]!.target > target) i--;
    this.waiting.splice(i, 0, { target, d });
    return d.promise;
  }

  advance(index: number): void {
    if (index <= this.current) return;
    this.current = index;
    let n = 0;
    while (n < this.waiting.length && this.waiting[n]!.target <= index) n++;
    if (n === 0) return;
    const done = this.waiting.splice(0, n);
    for (const w of done) w.d.resolve();
  }

  failAll(err: Error): void {
    const all = this.waiting;
    this.waiting = [];
    for (const w of all) w.d.reject(err);
  }
}
