// The Watch page's event list: newest first, bounded, and held back while
// paused (events keep arriving and are shown at resume, none lost up to the bound).

import { decodeText, int } from '../api/codec.js';
import type { WatchResponse } from '../api/types.js';

export interface ShownEvent {
  /** Unique within the page (revision and position within it). */
  id: string;
  type: 'PUT' | 'DELETE';
  key: string;
  revision: number;
  value: string;
}

export const MAX_EVENTS = 500;

export function eventsOf(res: WatchResponse): ShownEvent[] {
  return (res.events ?? []).map((ev, i) => {
    const revision = int(ev.kv.mod_revision);
    return {
      id: `${revision}:${i}`,
      type: ev.type === 'DELETE' ? 'DELETE' : 'PUT',
      key: decodeText(ev.kv.key),
      revision,
      value: ev.type === 'DELETE' ? '' : decodeText(ev.kv.value),
    };
  });
}

/** New events in front of the shown ones (newest first), cut to `max`. */
export function prepend(shown: readonly ShownEvent[], arrived: readonly ShownEvent[], max = MAX_EVENTS): ShownEvent[] {
  return [...[...arrived].reverse(), ...shown].slice(0, max);
}
