// Watch stream validation against the cluster's per-revision event log, with
// the guarantees named as etcd's robustness validators and API guarantees do:
// - ordered: events come in revision order, a revision's events in commit order;
// - unique: no event twice;
// - atomic: a revision's events come in one response, never split;
// - reliable: no event missing between the first and the last event received;
// - resumable: a watch from startRevision gets exactly the events from there
//   on (nothing missing before its first event);
// - prev_kv: with prevKv asked, each event carries the key's value before it
//   (absent only if that revision was compacted), and none without asking;
// - filters: only keys in the watched range, no puts with noPut, no deletes
//   with noDelete;
// - compacted: a watch cancelled with compactRevision really wanted a revision
//   below it, and gets nothing after the cancel.
// Every delivered event must also be one the cluster committed, field by field.

import type { CheckResult, KeyValue, RevisionEvents, WatchEvent, WatchRecord, WatchRequest } from './history.js';
import { inKeyRange } from './keys.js';
import { kvEqual } from './response-match.js';

export interface WatchValidationOptions {
  /**
   * The last compaction of the run: a prevKv below it may be missing. (Deletes at a
   * compaction revision are never missing: the store keeps their tombstones, as etcd
   * does since etcd-io/etcd#18089 was fixed; etcd 3.4.23 dropped them.)
   */
  compactedRevision?: number;
}

/** A committed event with its place in the log and the key's value before it (null: none; undefined: unknown). */
interface RefEvent {
  revision: number;
  order: number;
  event: WatchEvent;
  prev: KeyValue | null | undefined;
}

const MAX_PROBLEMS_PER_WATCH = 20;

function refKey(revision: number, key: string): string {
  return `${revision}\u0000${key}`;
}

function buildReference(events: readonly RevisionEvents[]): { list: RefEvent[]; byKey: Map<string, RefEvent> } {
  const sorted = [...events].sort((a, b) => a.revision - b.revision);
  const complete = sorted.length === 0 || sorted[0].revision <= 2;
  // null: known absent; missing: unknown (only when the log starts after revision 2).
  const latest = new Map<string, KeyValue | null>();
  const list: RefEvent[] = [];
  const byKey = new Map<string, RefEvent>();
  for (const r of sorted) {
    for (const event of r.events) {
      const key = event.kv.key;
      const prev = latest.has(key) ? latest.get(key) : complete ? null : event.prevKv;
      const ref = { revision: r.revision, order: list.length, event, prev };
      list.push(ref);
      byKey.set(refKey(r.revision, key), ref);
      latest.set(key, event.type === 'put' ? event.kv : null);
    }
  }
  return { list, byKey };
}

function matches(req: WatchRequest, ev: WatchEvent): boolean {
  return inKeyRange(ev.kv.key, req.key, req.end) && !(req.noPut && ev.type === 'put') && !(req.noDelete && ev.type === 'delete');
}

function sameEvent(a: WatchEvent, b: WatchEvent): boolean {
  if (a.type !== b.type) return false;
  return a.type === 'put' ? kvEqual(a.kv, b.kv) : a.kv.key === b.kv.key && a.kv.modRevision === b.kv.modRevision;
}

const show = (ev: WatchEvent) => `${ev.type} ${JSON.stringify(ev.kv.key)}@${ev.kv.modRevision}`;

function validateOne(w: WatchRecord, ref: ReturnType<typeof buildReference>, opts: WatchValidationOptions): string[] {
  const problems: string[] = [];
  const req = w.request;
  const say = (guarantee: string, text: string) => problems.push(`watch ${w.id} (client ${w.client}${w.member ? ` via ${w.member}` : ''}, ${JSON.stringify(req)}): ${guarantee}: ${text}`);
  const seen = new Set<string>();
  const responseOf = new Map<number, number>();
  const splitReported = new Set<number>();
  let lastOrder = -1;
  let lastRevision = 0;
  let firstRevision = 0;
  let canceledAt = -1;

  w.responses.forEach((resp, ri) => {
    if (canceledAt >= 0 && resp.events.length) say('compacted', `response ${ri} delivers events after the watch was cancelled in response ${canceledAt}`);
    if (resp.compactRevision !== undefined && resp.compactRevision > 0) {
      // A watch "from now" wanted the revision after its created response's header
      // (etcd's minRev is the store's revision + 1 at creation); one that received
      // events wanted the revision after its last event (etcd does not move a synced
      // watcher's minRev past revisions it had no events for, so a member that
      // installs a snapshot whose compaction is above it cancels the watch as compacted).
      const created = w.responses[0];
      const createdRevision = ri > 0 && created.events.length === 0 && !created.compactRevision && !created.canceled ? created.revision : 0;
      const wanted = lastRevision ? lastRevision + 1 : req.startRevision || (createdRevision ? createdRevision + 1 : 0);
      if (!(wanted > 0 && wanted < resp.compactRevision)) say('compacted', `cancelled with compactRevision ${resp.compactRevision}, but the next revision it wanted (${wanted || 'now'}) was not compacted`);
      if (opts.compactedRevision !== undefined && resp.compactRevision > opts.compactedRevision) say('compacted', `compactRevision ${resp.compactRevision} is above the run's last compaction ${opts.compactedRevision}`);
    }
    if ((resp.canceled || resp.compactRevision) && canceledAt < 0) canceledAt = ri;
    const newest = resp.events.reduce((m, ev) => Math.max(m, ev.kv.modRevision), 0);
    if (newest > resp.revision) say('valid', `response ${ri} has header revision ${resp.revision} below its event at revision ${newest}`);
    for (const ev of resp.events) {
      const rev = ev.kv.modRevision;
      if (!inKeyRange(ev.kv.key, req.key, req.end)) say('filters', `event ${show(ev)} is outside the watched range`);
      if (req.noPut && ev.type === 'put') say('filters', `put ${show(ev)} delivered to a noPut watch`);
      if (req.noDelete && ev.type === 'delete') say('filters', `delete ${show(ev)} delivered to a noDelete watch`);
      if (req.startRevision && req.startRevision > 0 && rev < req.startRevision) say('resumable', `event ${show(ev)} precedes the start revision ${req.startRevision}`);
      const k = refKey(rev, ev.kv.key);
      if (seen.has(k)) {
        say('unique', `event ${show(ev)} delivered twice`);
        continue;
      }
      seen.add(k);
      const r = ref.byKey.get(k);
      if (!r) {
        say('valid', `event ${show(ev)} was never committed`);
        continue;
      }
      if (!sameEvent(ev, r.event)) say('valid', `event ${JSON.stringify(ev)} differs from the committed ${JSON.stringify(r.event)}`);
      if (r.order < lastOrder) say('ordered', `event ${show(ev)} arrives after a later event (revision ${lastRevision})`);
      lastOrder = Math.max(lastOrder, r.order);
      const firstIn = responseOf.get(rev);
      if (firstIn === undefined) responseOf.set(rev, ri);
      else if (firstIn !== ri && !splitReported.has(rev)) {
        splitReported.add(rev);
        say('atomic', `revision ${rev} is split over responses ${firstIn} and ${ri}`);
      }
      if (req.prevKv) {
        if (ev.prevKv) {
          if (r.prev === null || (r.prev && !kvEqual(ev.prevKv, r.prev))) say('prev_kv', `event ${show(ev)} carries prevKv ${JSON.stringify(ev.prevKv)}, but before it the key held ${JSON.stringify(r.prev)}`);
        } else if (r.prev && !(opts.compactedRevision !== undefined && rev - 1 < opts.compactedRevision)) {
          say('prev_kv', `event ${show(ev)} lacks prevKv ${JSON.stringify(r.prev)}`);
        }
      } else if (ev.prevKv) {
        say('prev_kv', `event ${show(ev)} carries a prevKv the watch did not ask for`);
      }
      if (!firstRevision) firstRevision = rev;
      lastRevision = Math.max(lastRevision, rev);
    }
  });

  // Reliable / resumable: every matching committed event in the window was delivered.
  if (lastRevision) {
    const from = req.startRevision && req.startRevision > 0 ? Math.min(req.startRevision, firstRevision) : firstRevision;
    let lo = 0;
    let hi = ref.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ref.list[mid].revision < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < ref.list.length && ref.list[i].revision <= lastRevision; i++) {
      const r = ref.list[i];
      if (!matches(req, r.event) || seen.has(refKey(r.revision, r.event.kv.key))) continue;
      if (r.revision < firstRevision) say('resumable', `watch from revision ${req.startRevision} starts at revision ${firstRevision}, missing ${show(r.event)}`);
      else say('reliable', `event ${show(r.event)} missing (the watch got revisions ${firstRevision}..${lastRevision})`);
    }
  }
  if (problems.length > MAX_PROBLEMS_PER_WATCH) {
    const more = problems.length - MAX_PROBLEMS_PER_WATCH;
    problems.length = MAX_PROBLEMS_PER_WATCH;
    problems.push(`watch ${w.id}: ${more} more problems`);
  }
  return problems;
}

export function validateWatches(watches: readonly WatchRecord[], events: readonly RevisionEvents[], opts: WatchValidationOptions = {}): CheckResult {
  const ref = buildReference(events);
  const problems = [...watches].sort((a, b) => a.id - b.id).flatMap((w) => validateOne(w, ref, opts));
  return { ok: problems.length === 0, problems };
}
