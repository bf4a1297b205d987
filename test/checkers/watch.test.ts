import { describe, expect, it } from 'vitest';
import { validateWatches } from './watch.js';
import { revisionEvents } from './model-state.js';
import { sequential } from './fixtures.js';
import type { RevisionEvents, WatchEvent, WatchRecord, WatchRequest } from './history.js';

// r2 put a, r3 put b, r4 txn puts a and b, r5 delete a, r6 put c, r7 delete b
const { state } = sequential([
  { kind: 'put', key: 'a', value: '1' },
  { kind: 'put', key: 'b', value: '1' },
  { kind: 'txn', compare: [], success: [{ kind: 'put', key: 'a', value: '2' }, { kind: 'put', key: 'b', value: '2' }], failure: [] },
  { kind: 'delete', key: 'a' },
  { kind: 'put', key: 'c', value: '1' },
  { kind: 'delete', key: 'b' },
]);
const log: RevisionEvents[] = revisionEvents(state);

/** The committed events a watch should see, one response per revision. */
function expected(req: WatchRequest): WatchEvent[][] {
  return log
    .filter((r) => r.revision >= (req.startRevision || 2))
    .map((r) => r.events
      .filter((e) => e.kv.key >= req.key && (req.end === '\0' || (req.end ? e.kv.key < req.end : e.kv.key === req.key)))
      .filter((e) => !(req.noPut && e.type === 'put') && !(req.noDelete && e.type === 'delete'))
      .map((e) => (req.prevKv ? e : { type: e.type, kv: e.kv })))
    .filter((evs) => evs.length > 0);
}

function watch(request: WatchRequest, responses: WatchEvent[][], id = 1): WatchRecord {
  return { id, client: 1, request, responses: responses.map((events, i) => ({ time: i, revision: events.at(-1)?.kv.modRevision ?? 0, events })) };
}

const all: WatchRequest = { key: 'a', end: '\0', startRevision: 2, prevKv: true };

describe('validateWatches: valid streams pass', () => {
  it('every event once, in order, revisions whole, with prevKv', () => {
    const r = validateWatches([watch(all, expected(all))], log);
    expect(r.problems).toEqual([]);
  });

  it('several revisions in one response; a single-key watch; filters; a watch from now', () => {
    const batched = expected(all);
    const merged = [[...batched[0], ...batched[1]], ...batched.slice(2)];
    const one: WatchRequest = { key: 'b', startRevision: 2 };
    const noPut: WatchRequest = { key: 'a', end: 'c', startRevision: 2, noPut: true };
    const noDelete: WatchRequest = { key: 'a', end: '\0', startRevision: 2, noDelete: true };
    const fromNow: WatchRequest = { key: 'a', end: '\0' };
    const r = validateWatches([
      watch(all, merged, 1), watch(one, expected(one), 2), watch(noPut, expected(noPut), 3),
      watch(noDelete, expected(noDelete), 4), watch(fromNow, expected(all).slice(3).map((evs) => evs.map((e) => ({ type: e.type, kv: e.kv }))), 5),
    ], log);
    expect(r.problems).toEqual([]);
  });

  it('a watch cancelled because its start revision was compacted', () => {
    const w: WatchRecord = { id: 1, client: 1, request: { key: 'a', startRevision: 2 }, responses: [{ time: 1, revision: 7, events: [], compactRevision: 4, canceled: true }] };
    expect(validateWatches([w], log, { compactedRevision: 4 }).ok).toBe(true);
  });
});

describe('validateWatches: broken streams fail with the guarantee named', () => {
  const good = expected(all);
  const fails = (responses: WatchEvent[][], name: string, req = all) => {
    const r = validateWatches([watch(req, responses)], log);
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toContain(`: ${name}: `);
    return r;
  };

  it('ordered: a reordered event', () => {
    fails([good[0], good[2], good[1], ...good.slice(3)], 'ordered');
  });

  it('ordered: events of one revision out of commit order', () => {
    fails([good[0], good[1], [...good[2]].reverse(), ...good.slice(3)], 'ordered');
  });

  it('unique: a duplicate event', () => {
    fails([good[0], good[1], good[1], ...good.slice(2)], 'unique');
  });

  it('reliable: a gap', () => {
    fails([good[0], ...good.slice(2)], 'reliable');
  });

  it('atomic: a revision split across responses', () => {
    fails([good[0], good[1], [good[2][0]], [good[2][1]], ...good.slice(3)], 'atomic');
  });

  it('resumable: a watch from a revision that starts later', () => {
    fails(good.slice(1), 'resumable');
    const r = validateWatches([watch({ ...all, startRevision: 3 }, good)], log);
    expect(r.problems.join()).toContain('resumable: event put "a"@2 precedes the start revision 3');
  });

  it('prev_kv: a wrong prevKv, a missing one, one not asked for', () => {
    const wrong = good.map((evs) => evs.map((e) => ({ ...e })));
    wrong[2][0].prevKv = { ...wrong[2][0].prevKv!, value: 'zzz' };
    fails(wrong, 'prev_kv');
    const missing = good.map((evs) => evs.map((e) => ({ type: e.type, kv: e.kv })));
    fails(missing, 'prev_kv');
    fails(good, 'prev_kv', { ...all, prevKv: false });
  });

  it('filters: a put delivered to a noPut watch, a key outside the range', () => {
    fails(good, 'filters', { ...all, noPut: true });
    fails(good, 'filters', { ...all, key: 'b' });
  });

  it('valid: an event never committed', () => {
    const fake = good.map((evs) => evs.map((e) => ({ ...e, kv: { ...e.kv } })));
    fake[0][0].kv.value = 'never';
    fails(fake, 'valid');
  });

  it('valid: a header revision below the events it carries', () => {
    const w = watch(all, good);
    w.responses[1].revision = 2;
    expect(validateWatches([w], log).problems.join()).toContain('header revision 2 below its event at revision 3');
  });

  it('compacted: cancelled though the start revision was not compacted; events after the cancel', () => {
    const w: WatchRecord = { id: 1, client: 1, request: { key: 'a', startRevision: 5 }, responses: [{ time: 1, revision: 7, events: [], compactRevision: 4, canceled: true }] };
    expect(validateWatches([w], log).problems.join()).toContain('compacted');
    const after: WatchRecord = { id: 1, client: 1, request: { key: 'a', startRevision: 2 }, responses: [
      { time: 1, revision: 7, events: [], compactRevision: 4, canceled: true },
      { time: 2, revision: 7, events: expected({ key: 'a', startRevision: 5 })[0] },
    ] };
    expect(validateWatches([after], log).problems.join()).toContain('after the watch was cancelled');
  });

  it('resumable: a watch starting exactly at a compaction revision that misses that revision\'s deletes fails (etcd-io/etcd#18089)', () => {
    const delRev = log.find((r) => r.events.some((e) => e.type === 'delete'))!.revision;
    const req: WatchRequest = { key: '', end: '\0', startRevision: delRev };
    const full = expected(req);
    const withoutDeletesAtStart = full.map((evs) => evs.filter((e) => !(e.type === 'delete' && e.kv.modRevision === delRev))).filter((evs) => evs.length > 0);
    expect(validateWatches([watch(req, withoutDeletesAtStart)], log, { compactedRevision: delRev }).problems.join()).toContain('resumable');
    expect(validateWatches([watch(req, full)], log, { compactedRevision: delRev }).problems).toEqual([]);
  });

  it('compacted: a watch "from now" wanted the revision after its created response (a member that installs a snapshot may cancel it)', () => {
    const cancelled = (createdAt: number, compactRevision: number): WatchRecord => ({ id: 1, client: 1, request: { key: 'a' }, responses: [
      { time: 1, revision: createdAt, events: [] },
      { time: 2, revision: 7, events: [], compactRevision, canceled: true },
    ] });
    expect(validateWatches([cancelled(2, 4)], log).problems).toEqual([]);
    expect(validateWatches([cancelled(3, 4)], log).problems.join()).toContain('the next revision it wanted (4) was not compacted');
    // Without a created response there is nothing to say what "now" was: not allowed.
    const bare: WatchRecord = { id: 1, client: 1, request: { key: 'a' }, responses: [{ time: 2, revision: 7, events: [], compactRevision: 4, canceled: true }] };
    expect(validateWatches([bare], log).problems.join()).toContain('(now) was not compacted');
  });
});
