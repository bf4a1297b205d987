// The collector loop: every interval, list the index and delete the tokens past
// the minimum age (gc-policy.ts decides which). Runs never overlap; the clock is
// injectable so tests can age tokens without waiting a week. Several services on
// one backing cluster may collect at once: deleting twice is harmless (404 is fine).

import type { Logger } from '../server/logger.js';
import { expiredTokens } from './gc-policy.js';
import type { TokenStore } from './token-store.js';

export interface GcOptions {
  minAgeMs: number;
  intervalMs: number;
  now?: () => number;
}

export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: Pick<TokenStore, 'gcEntries' | 'delete'>,
    private readonly opts: GcOptions,
    private readonly logger: Logger,
  ) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.collect(), this.opts.intervalMs);
  }

  /** One pass (or the pass already under way); resolves to the number of tokens deleted. */
  collect(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<number> {
    this.logger.debug({}, 'garbage collection running');
    let deleted = 0;
    try {
      const { expired, unreadable } = expiredTokens(await this.store.gcEntries(), this.now(), this.opts.minAgeMs);
      for (const e of unreadable) this.logger.warn({ token: e.token, created: e.created }, 'gc: unreadable creation time; token kept');
      for (const token of expired) {
        try {
          await this.store.delete(token);
          deleted++;
          this.logger.info({ token }, 'gc: deleted token');
        } catch (err) {
          this.logger.warn({ token, err: (err as Error).message }, "couldn't delete token for GC");
        }
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "couldn't list tokens for GC");
    }
    return deleted;
  }
}
