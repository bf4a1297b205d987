// The state the model of etcd's KV keeps: the latest key-values, every
// revision's changes (so a read at a past revision, a serializable read at a
// member's revision and the durability check can all see the past), the
// compacted revision and the leases. States are immutable: `step` returns a new
// one and the linearizability search keeps older ones on its stack, so writes
// copy the latest-key map and share the revision log (see RevisionLog).
//
// Each state carries a hash of everything it holds, built incrementally, so the
// search can remember which (linearized set, state) pairs it has seen without
// comparing whole states.

import type { KeyValue, RevisionEvents, WatchEvent } from './history.js';
import { inKeyRange, keysInRange } from './keys.js';

export interface ModelOptions {
  /**
   * The smallest lease TTL a member grants (etcd raises a smaller request to
   * this): ceil(1.5 × election timeout) in seconds, 2 with etcd's defaults
   * (--election-timeout 1000, --heartbeat-interval 100).
   */
  minLeaseTTL?: number;
}

/** One key's change at a revision: its new value, or null when deleted. */
export interface Change {
  key: string;
  kv: KeyValue | null;
  /** The key's value before this change (undefined: it did not exist). */
  prev: KeyValue | undefined;
}

/** Everything one revision did, in commit order (sub-revision order). */
export interface RevisionEntry {
  revision: number;
  changes: Change[];
}

/**
 * The revisions so far, newest first, as an immutable linked list: states
 * share their common past, appending costs O(1) whatever the search did, and
 * a read at a past revision walks back from the newest.
 */
export interface RevisionLog {
  readonly entry: RevisionEntry;
  readonly older: RevisionLog | null;
}

export interface ModelState {
  /** The store's current revision (1 for an empty store, as etcd's first revision). */
  readonly revision: number;
  /** The compacted revision, -1 before the first compaction (reads below it fail). */
  readonly compacted: number;
  readonly latest: ReadonlyMap<string, KeyValue>;
  /** Lease id -> granted TTL (attached keys are the latest keys whose lease is the id). */
  readonly leases: ReadonlyMap<string, number>;
  readonly log: RevisionLog | null;
  readonly options: Readonly<Required<ModelOptions>>;
  /** Incremental hashes of the log (two lanes) and of the lease set. */
  readonly logHash: readonly [number, number];
  readonly leaseHash: readonly [number, number];
}

export function initialState(options: ModelOptions = {}): ModelState {
  return {
    revision: 1,
    compacted: -1,
    latest: new Map(),
    leases: new Map(),
    log: null,
    options: { minLeaseTTL: options.minLeaseTTL ?? 2 },
    logHash: [0x811c9dc5, 0x2545f491],
    leaseHash: [0, 0],
  };
}

/** Two 32-bit hashes of everything the state holds: equal states give equal hashes. */
export function stateHash(s: ModelState): [number, number] {
  return [
    mix32(s.logHash[0] ^ Math.imul(s.leaseHash[0], 0x27d4eb2d) ^ Math.imul(s.compacted + 2, 0x165667b1)),
    mix32(s.logHash[1] + Math.imul(s.leaseHash[1], 0x9e3779b1) + Math.imul(s.compacted + 2, 0x85ebca77)),
  ];
}

/** The revisions the state has seen, oldest first. */
export function logEntries(s: ModelState): RevisionEntry[] {
  const out: RevisionEntry[] = [];
  for (let l = s.log; l; l = l.older) out.push(l.entry);
  return out.reverse();
}

/**
 * The key-values in [key, end) as of `revision` (<= the state's revision),
 * sorted by key. Walks back from the latest state undoing newer revisions, so
 * the cost grows with how far back the read goes.
 */
export function kvsAt(s: ModelState, key: string, end: string | undefined, revision: number): KeyValue[] {
  const current = keysInRange(s.latest.keys(), key, end).map((k) => s.latest.get(k)!);
  if (revision >= s.revision) return current;
  const byKey = new Map(current.map((kv) => [kv.key, kv]));
  for (let l = s.log; l; l = l.older) {
    const entry = l.entry;
    if (entry.revision <= revision) break;
    for (let j = entry.changes.length - 1; j >= 0; j--) {
      const c = entry.changes[j];
      if (!inKeyRange(c.key, key, end)) continue;
      if (c.prev) byKey.set(c.key, c.prev);
      else byKey.delete(c.key);
    }
  }
  return keysInRange(byKey.keys(), key, end).map((k) => byKey.get(k)!);
}

/** The watch event a change produces (a delete carries its tombstone revision). */
export function changeEvent(change: Change, revision: number): WatchEvent {
  const kv = change.kv ?? { key: change.key, value: '', createRevision: 0, modRevision: revision, version: 0, lease: '0' };
  const event: WatchEvent = { type: change.kv ? 'put' : 'delete', kv };
  if (change.prev) event.prevKv = change.prev;
  return event;
}

/** The state's history as the per-revision event log the watch and durability checks take. */
export function revisionEvents(s: ModelState): RevisionEvents[] {
  return logEntries(s).map((e) => ({ revision: e.revision, events: e.changes.map((c) => changeEvent(c, e.revision)) }));
}

// ---- hashing -------------------------------------------------------------

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashString(str: string, seed: number): number {
  let h = seed ^ str.length;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x5bd1e995) ^ (h >>> 15);
  return mix32(h);
}

/** The log hash after appending `entry`: it fixes every key-value field, since they follow from the changes in order. */
export function extendLogHash(h: readonly [number, number], entry: RevisionEntry): [number, number] {
  let a = mix32(h[0] ^ entry.revision);
  let b = mix32(h[1] + Math.imul(entry.revision, 0x9e3779b1));
  for (const c of entry.changes) {
    const text = c.kv ? `p\u0001${c.key}\u0001${c.kv.value}\u0001${c.kv.lease}` : `d\u0001${c.key}`;
    a = mix32(Math.imul(a, 31) ^ hashString(text, 0x9747b28c));
    b = mix32(Math.imul(b, 37) + hashString(text, 0x1b873593));
  }
  return [a, b];
}

/** The lease hash is a sum over leases, so granting adds and revoking subtracts. */
export function leaseHashWith(h: readonly [number, number], id: string, ttl: number, sign: 1 | -1): [number, number] {
  const text = `${id}\u0001${ttl}`;
  return [(h[0] + sign * hashString(text, 0x3c6ef372)) >>> 0, (h[1] + sign * hashString(text, 0xa54ff53a)) >>> 0];
}
