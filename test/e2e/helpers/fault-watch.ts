// Watch streams recorded for the fault suite: every response with its arrival
// time, in the checkers' WatchRecord form. A stream that breaks (its member
// crashed or was cut off) ends its record; the workload opens a new one that
// resumes after the last revision it saw (resumable, as etcd's clients do).

import * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../../src/server/api/services.js';
import type * as pb from '../../../src/pb/types.js';
import type { WatchRecord, WatchRequest } from '../../checkers/history.js';
import { toWatchEvent, type HistoryRecorder } from './fault-history.js';

type WatchCall = grpc.ClientDuplexStream<pb.Encodable<pb.WatchRequest>, pb.WatchResponse>;

export function watchServiceClient(endpoint: string): grpc.Client {
  const Ctor = grpc.makeGenericClientConstructor(apiServices().Watch, 'Watch');
  return new Ctor(endpoint, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': -1,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 500,
  });
}

export class RecordedWatch {
  readonly record: WatchRecord;
  private readonly call: WatchCall;
  /** The stream ended (error, end, or cancel); no more responses come. */
  ended = false;
  error: string | undefined;
  /** The highest revision whose events were received (the header revision before any event). */
  lastRevision = 0;

  constructor(client: grpc.Client, recorder: HistoryRecorder, clientId: number, member: string, request: WatchRequest) {
    this.record = { id: recorder.newWatchId(), client: clientId, member, request, responses: [] };
    this.lastRevision = Math.max(0, (request.startRevision ?? 1) - 1);
    recorder.watches.push(this.record);
    this.call = (client as unknown as { Watch(): WatchCall }).Watch();
    this.call.on('data', (r: pb.WatchResponse) => {
      if (this.ended) return;
      const events = r.events.map(toWatchEvent);
      const revision = Number(r.header?.revision ?? 0n);
      const compactRevision = Number(r.compactRevision);
      this.record.responses.push({
        time: recorder.now(),
        revision,
        events,
        ...(compactRevision > 0 ? { compactRevision } : {}),
        ...(r.canceled ? { canceled: true } : {}),
      });
      for (const e of events) this.lastRevision = Math.max(this.lastRevision, e.kv.modRevision);
      if (r.canceled) this.end('canceled');
    });
    this.call.on('error', (e: grpc.ServiceError) => this.end(e.details || e.message));
    this.call.on('end', () => this.end('stream ended'));
    const end = request.end === undefined ? Buffer.alloc(0) : request.end === '\0' ? Buffer.from([0]) : Buffer.from(request.end);
    const filters = [...(request.noPut ? [0] : []), ...(request.noDelete ? [1] : [])];
    this.call.write({
      createRequest: {
        key: Buffer.from(request.key),
        rangeEnd: end,
        startRevision: BigInt(request.startRevision ?? 0),
        prevKv: request.prevKv ?? false,
        filters,
      },
    });
  }

  private end(why: string): void {
    if (this.ended) return;
    this.ended = true;
    this.error = why;
  }

  /** Resolves once an event at `revision` or later arrived, or after `ms` (false then). */
  async waitForRevision(revision: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.lastRevision < revision) {
      if (this.ended || Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  close(): void {
    this.end('closed by the test');
    this.call.cancel();
  }
}
