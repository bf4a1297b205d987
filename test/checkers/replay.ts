// Replays a per-revision event log (RevisionEvents[]) forward, so checks can
// ask "what did [key, end) hold at revision r" for increasing r in one pass.

import type { KeyValue, RevisionEvents } from './history.js';
import { keysInRange } from './keys.js';

export class EventReplay {
  private readonly latest = new Map<string, KeyValue>();
  private next = 0;
  private readonly log: RevisionEvents[];

  constructor(events: readonly RevisionEvents[]) {
    this.log = [...events].sort((a, b) => a.revision - b.revision);
  }

  /** The last revision the log holds (1: an empty store). */
  get lastRevision(): number {
    return this.log.length ? this.log[this.log.length - 1].revision : 1;
  }

  /** The revision replayed so far. */
  get revision(): number {
    return this.next ? this.log[this.next - 1].revision : 1;
  }

  /** Applies every revision <= `revision` (a revision below the current one is an error of the caller). */
  advanceTo(revision: number, onEvent?: (before: KeyValue | undefined, revision: number, ev: RevisionEvents['events'][number]) => void): void {
    while (this.next < this.log.length && this.log[this.next].revision <= revision) {
      const rev = this.log[this.next++];
      for (const ev of rev.events) {
        onEvent?.(this.latest.get(ev.kv.key), rev.revision, ev);
        if (ev.type === 'put') this.latest.set(ev.kv.key, ev.kv);
        else this.latest.delete(ev.kv.key);
      }
    }
  }

  get(key: string): KeyValue | undefined {
    return this.latest.get(key);
  }

  range(key: string, end: string | undefined): KeyValue[] {
    return keysInRange(this.latest.keys(), key, end).map((k) => this.latest.get(k)!);
  }
}
