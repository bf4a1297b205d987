// Small synchronisation helpers for the server: proposers waiting for their entry
// to be applied, and readers waiting for the applied index to reach a read point.

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
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

/** Rejects with `err` unless `p` settles within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, err: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(err()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
