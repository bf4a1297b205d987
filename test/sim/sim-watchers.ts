// Simulated watch clients: each holds one watch stream on a member (a key, a range
// or a prefix; with or without prev_kv; sometimes a filter; from now or from a
// past revision) and records every response (history.ts WatchRecord). When its
// member goes down the stream ends, and the client resumes on another member
// from the revision after the last one it received, as etcd clients do.

import { AUTO_WATCH_ID, WatchStream, type MvccWatchResponse } from '../../src/mvcc/index.js';
import type { KeyValue } from '../../src/mvcc/types.js';
import type * as h from '../checkers/history.js';
import { type SimCluster, watchEventOf } from './sim-cluster.js';
import type { SimMember } from './sim-member.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = new TextDecoder();

interface Stream {
  record: h.WatchRecord;
  member: SimMember;
  ws: WatchStream;
  open: boolean;
  /** Responses are recorded in order even when prev_kv lookups are asynchronous. */
  chain: Promise<void>;
}

export class SimWatchers {
  readonly records: h.WatchRecord[] = [];
  private readonly streams: Stream[] = [];
  private nextId = 1;

  constructor(private readonly cluster: SimCluster, private readonly clientBase: number) {}

  /**
   * Opens `n` watch clients with random requests now, and `n` more at random
   * times within `withinMs`, those from a past revision (maybe compacted away).
   */
  start(n: number, withinMs: number): void {
    const { rng, sched } = this.cluster;
    for (let i = 0; i < n; i++) this.open(this.clientBase + i, this.randomRequest());
    for (let i = 0; i < n; i++) {
      sched.after(rng() * withinMs, () => {
        const member = this.pickMember();
        const store = member?.current!.stores.current;
        // Above the member's compacted revision: a watch from exactly that revision
        // misses the tombstones compaction removed there (etcd's key_index.go does
        // the same), which the watch checker does not allow for yet.
        const low = Math.max(1, (store?.compactRevision() ?? 0) + 1); // a fresh store's compacted revision is -1
        const high = Math.max(low, store?.currentRevision() ?? 1);
        const req = this.randomRequest();
        req.startRevision = low + Math.floor(rng() * (high - low + 1));
        this.open(this.clientBase + n + i, req, member);
      });
    }
  }

  private randomRequest(): h.WatchRequest {
    const { rng } = this.cluster;
    const shape = rng();
    const req: h.WatchRequest =
      shape < 0.3 ? { key: `k${Math.floor(rng() * 6)}` } : shape < 0.8 ? { key: 'k', end: 'l' } : { key: 'k', end: '\0' };
    if (rng() < 0.6) req.prevKv = true;
    const f = rng();
    if (f < 0.15) req.noPut = true;
    else if (f < 0.3) req.noDelete = true;
    return req;
  }

  /** The member went down: its streams end; each client resumes elsewhere. */
  memberDown(member: SimMember): void {
    for (const s of this.streams) if (s.open && s.member === member) this.end(s, true);
  }

  /** Ends every stream (the run is over). */
  async closeAll(): Promise<void> {
    for (const s of this.streams) if (s.open) this.end(s, false);
    await Promise.all(this.streams.map((s) => s.chain));
  }

  private open(client: number, request: h.WatchRequest, on?: SimMember): void {
    const member = on?.up ? on : this.pickMember();
    if (!member) {
      this.cluster.sched.after(100, () => this.open(client, request));
      return;
    }
    const inc = member.current!;
    const record: h.WatchRecord = { id: this.nextId++, client, member: member.id.toString(16), request, responses: [] };
    this.records.push(record);
    const stream: Stream = { record, member, ws: undefined as unknown as WatchStream, open: true, chain: Promise.resolve() };
    stream.ws = new WatchStream(inc.watchHub, { send: (res) => this.receive(stream, res) });
    try {
      stream.ws.watch({
        id: AUTO_WATCH_ID,
        key: enc(request.key),
        rangeEnd: request.end === undefined ? undefined : request.end === '\0' ? new Uint8Array(0) : enc(request.end),
        startRev: request.startRevision ?? 0,
        filters: { noPut: request.noPut === true, noDelete: request.noDelete === true },
      });
    } catch (err) {
      stream.open = false;
      record.responses.push({ time: this.cluster.sched.now(), revision: 0, events: [], canceled: true });
      return;
    }
    // The created response, as the gRPC layer sends it (header: the member's revision):
    // it says what "now" was for a watch without a start revision.
    record.responses.push({ time: this.cluster.sched.now(), revision: stream.ws.rev(), events: [] });
    this.streams.push(stream);
  }

  private pickMember(): SimMember | undefined {
    const up = this.cluster.up();
    return up[Math.floor(this.cluster.rng() * up.length)];
  }

  private receive(stream: Stream, res: MvccWatchResponse): boolean {
    if (!stream.open) return true;
    const hub = stream.member.current!.watchHub;
    const time = this.cluster.sched.now();
    const wantPrev = stream.record.request.prevKv === true;
    const prevs = wantPrev ? res.events.map((ev) => hub.prevKv(ev)) : [];
    stream.chain = stream.chain.then(async () => {
      const resolved = await Promise.all(prevs);
      const events = res.events.map((ev, i) => {
        const out = watchEventOf(ev);
        const prev = resolved[i];
        if (wantPrev && prev) out.prevKv = kvOf(prev);
        return out;
      });
      const response: h.WatchResponse = { time, revision: res.revision, events };
      if (res.compactRevision > 0) {
        response.compactRevision = res.compactRevision;
        response.canceled = true;
      }
      stream.record.responses.push(response);
      if (res.compactRevision > 0 && stream.open) {
        // Asked for a compacted revision: start again after it (from it exactly,
        // tombstones compacted there would be missing: see start()).
        stream.open = false;
        stream.ws.close();
        this.open(stream.record.client, { ...stream.record.request, startRevision: res.compactRevision + 1 });
      }
    });
    return true;
  }

  private end(stream: Stream, resume: boolean): void {
    stream.open = false;
    stream.ws.close();
    if (!resume) return;
    const last = stream.record.responses.filter((r) => r.events.length > 0 || r.revision > 0).at(-1);
    const from = last ? last.revision + 1 : stream.record.request.startRevision;
    const request: h.WatchRequest = { ...stream.record.request };
    if (from !== undefined) request.startRevision = from;
    this.cluster.sched.after(50, () => this.open(stream.record.client, request));
  }
}

function kvOf(kv: KeyValue): h.KeyValue {
  return {
    key: dec.decode(kv.key), value: dec.decode(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision,
    version: kv.version, lease: kv.lease.toString(),
  };
}
