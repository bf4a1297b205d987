// --auto-compaction-mode / --auto-compaction-retention, with etcd 3.4's semantics
// (etcdserver/api/v3compactor):
// - periodic: every retention/10 (at most 6 min) record the current revision;
//   once a full retention window has passed since the last success, compact at
//   the revision recorded one retention ago; after the first success the window
//   is min(retention, 1h).
// - revision: every 5 minutes compact at current revision − retention.
// Only the leader compacts (a follower's loop keeps recording but skips the
// compaction, as etcd's paused compactor does). "Already compacted" counts as success.

export type CompactionMode = 'periodic' | 'revision';

export interface AutoCompactionConfig {
  mode: CompactionMode;
  /** periodic: milliseconds; revision: a revision count. 0 disables. */
  retention: number;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds. */
export function parseGoDuration(s: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let sign = 1;
  let i = 0;
  if (s[0] === '-' || s[0] === '+') { sign = s[0] === '-' ? -1 : 1; i = 1; }
  if (s.slice(i) === '0') return 0;
  if (i >= s.length) throw new Error(`time: invalid duration "${s}"`);
  let total = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new Error(`time: invalid duration "${s}"`);
    total += Number(m[1]) * UNITS[m[2]!]!;
    i = re.lastIndex;
  }
  return sign * total;
}

/** etcd's parseCompactionRetention: a bare non-negative integer is hours (periodic) or revisions (revision). */
export function parseCompactionRetention(mode: string, retention: string): AutoCompactionConfig {
  if (mode !== 'periodic' && mode !== 'revision') throw new Error(`unknown auto-compaction-mode "${mode}"`);
  if (/^[+-]?\d+$/.test(retention) && Number(retention) >= 0) {
    const n = Number(retention);
    return { mode, retention: mode === 'revision' ? n : n * 3_600_000 };
  }
  try {
    // A duration in revision mode counts nanoseconds as revisions, as etcd does.
    const ms = parseGoDuration(retention);
    return { mode, retention: mode === 'revision' ? Math.trunc(ms * 1e6) : ms };
  } catch (err) {
    throw new Error(`error parsing CompactionRetention: ${(err as Error).message}`);
  }
}

export interface CompactorClock {
  now(): number;
  /** Resolves after ms (or at once when `signal` aborts). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: CompactorClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((r) => {
      const t = setTimeout(done, ms);
      function done() { clearTimeout(t); signal.removeEventListener('abort', done); r(); }
      signal.addEventListener('abort', done);
    }),
};

export interface CompactorHost {
  /** The store's current revision. */
  rev(): number;
  isLeader(): boolean;
  /** Proposes a compaction; rejects with the server's error. */
  compact(rev: number): Promise<void>;
  log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

const HOUR = 3_600_000;
export const REVISION_INTERVAL_MS = 5 * 60_000;
const isCompactedErr = (err: unknown): boolean => /required revision has been compacted/.test((err as Error)?.message ?? '');

export class AutoCompactor {
  private readonly ac = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly cfg: AutoCompactionConfig,
    private readonly host: CompactorHost,
    private readonly clock: CompactorClock = realClock,
    /** revision mode's check interval (etcd: 5 min; tests shorten it). */
    private readonly revisionIntervalMs = REVISION_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.cfg.retention <= 0 || this.loop) return;
    this.loop = (this.cfg.mode === 'periodic' ? this.periodic() : this.revision()).catch(() => {});
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await this.loop;
  }

  private get stopped(): boolean { return this.ac.signal.aborted; }

  private async periodic(): Promise<void> {
    const period = this.cfg.retention;
    const compactInterval = Math.min(period, HOUR);
    const retryInterval = compactInterval / 10;
    const retentions = Math.floor(period / retryInterval) + 1;
    const revs: number[] = [];
    let lastSuccess = this.clock.now();
    let baseInterval = period;
    while (!this.stopped) {
      revs.push(this.host.rev());
      if (revs.length > retentions) revs.shift(); // revs[0] is the revision one period ago
      await this.clock.sleep(retryInterval, this.ac.signal);
      if (this.stopped) return;
      if (!this.host.isLeader()) continue;
      if (this.clock.now() - lastSuccess < baseInterval) continue;
      if (baseInterval === period) baseInterval = compactInterval;
      const rev = revs[0]!;
      this.host.log?.info({ revision: rev, compactPeriodMs: period }, 'starting auto periodic compaction');
      try {
        await this.host.compact(rev);
      } catch (err) {
        if (!isCompactedErr(err)) {
          this.host.log?.warn({ revision: rev, retryIntervalMs: retryInterval, err: (err as Error).message }, 'failed auto periodic compaction');
          continue;
        }
      }
      this.host.log?.info({ revision: rev, compactPeriodMs: period }, 'completed auto periodic compaction');
      lastSuccess = this.clock.now();
    }
  }

  private async revision(): Promise<void> {
    let prev = 0;
    while (!this.stopped) {
      await this.clock.sleep(this.revisionIntervalMs, this.ac.signal);
      if (this.stopped) return;
      if (!this.host.isLeader()) continue;
      const rev = this.host.rev() - this.cfg.retention;
      if (rev <= 0 || rev === prev) continue;
      this.host.log?.info({ revision: rev, retention: this.cfg.retention }, 'starting auto revision compaction');
      try {
        await this.host.compact(rev);
      } catch (err) {
        if (!isCompactedErr(err)) {
          this.host.log?.warn({ revision: rev, err: (err as Error).message }, 'failed auto revision compaction');
          continue;
        }
      }
      prev = rev;
      this.host.log?.info({ revision: rev, retention: this.cfg.retention }, 'completed auto revision compaction');
    }
  }
}
