// The value of the action key every v2 write puts (layout.ts): the action, as
// etcd's v2v3 writes it, then what a v2 event carries that the v3 key-value does
// not: that it was a refresh (watchers are not told), and the TTL and expiration
// the node got — a watch replaying history shows them as they were, after the
// lease is gone. "set", "update;refresh;ttl=30;exp=1764901234567".

import type { V2Action } from './node.js';

export interface ActionRecord {
  action: V2Action;
  refresh: boolean;
  ttl?: number;
  /** Epoch ms. */
  expiresAtMs?: number;
}

export function encodeAction(r: ActionRecord): string {
  let s: string = r.action;
  if (r.refresh) s += ';refresh';
  if (r.ttl !== undefined && r.expiresAtMs !== undefined) s += `;ttl=${r.ttl};exp=${r.expiresAtMs}`;
  return s;
}

export function decodeAction(s: string): ActionRecord {
  const [action, ...attrs] = s.split(';');
  const r: ActionRecord = { action: action as V2Action, refresh: false };
  for (const a of attrs) {
    if (a === 'refresh') r.refresh = true;
    else if (a.startsWith('ttl=')) r.ttl = Number(a.slice(4));
    else if (a.startsWith('exp=')) r.expiresAtMs = Number(a.slice(4));
  }
  return r;
}
