// Watch service: the bidirectional Watch stream (etcd's v3rpc/watch.go). Each
// call gets an mvcc WatchStream (watch ids, watchers in the hub) and a bounded
// send queue; requests create and cancel watchers or ask for progress. Any
// member serves watches from its own applied state, so followers do too and a
// leader change does not disturb them.
//
// Ordering: a watcher's "created" response is queued in the same synchronous
// step that registers it, and the hub never delivers from inside watch(), so it
// precedes the watcher's events. Everything a stream sends goes through one
// FIFO, so a progress response never overtakes the events it vouches for.

import type { Logger } from 'pino';
import {
  INVALID_WATCH_ID, WatchStream, type KeyValue, type MvccWatchResponse, type WatchHub,
} from '../../mvcc/index.js';
import { ErrNoLeader } from '../errors.js';
import type * as pb from '../../pb/types.js';
import { Status } from '../grpc/status.js';
import type { ServiceImplementation, StreamCall } from '../grpc/types.js';
import { FilterType } from '../../pb/types.js';
import {
  encodeEvent, encodeFragments, encodeHeader, encodeSharedResponses, encodeWatchResponse, type ResponseFields,
} from './watch-encode.js';
import { watchOutput } from './watch-output.js';
import { WatchSendQueue } from './watch-queue.js';
import { AuthError, type AuthInfo, ErrPermissionDenied } from '../../auth/index.js';
import { callerOf, OPEN_GATE } from './caller.js';
import type { ApiLimits, AuthGate, ServerInfo, WatchMetrics, WatchSource } from './ports.js';

/** etcd allows this much gRPC framing on top of --max-request-bytes (fragments are cut below the sum). */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** Queued bytes per stream before the hub is refused. */
export const STREAM_QUEUE_BYTES = 4 << 20;
/**
 * Queued responses per stream before the hub is refused: etcd's 128-slot
 * channel, or a few revisions' worth when every watcher of a big stream gets
 * one response per revision.
 */
const streamQueueItems = (watchers: number): number => Math.max(128, 32 * watchers);
/** etcd cancels require-leader streams after this many election timeouts without a leader. */
const MAX_NO_LEADER_CHECKS = 3;
const EMPTY = new Uint8Array(0);

interface Shared {
  hub: WatchHub;
  metrics: WatchMetrics;
  progressNotifyIntervalMs: number;
  logger: Logger;
  fragmentBytes: number;
  queueBytes: number;
  headers: HeaderCache;
  gate: AuthGate;
}

/**
 * Why a watch the caller may not read is canceled (etcd's isWatchPermitted): the
 * token, revision and empty-user errors keep their text, anything else is
 * "permission denied".
 */
function watchRefusal(err: unknown): string {
  const e = err instanceof AuthError && ['invalid-auth-token', 'auth-old-revision', 'user-empty'].includes(err.code) ? err : ErrPermissionDenied();
  // etcd sends the gRPC status error's text (recorded with etcd 3.4.23).
  return `rpc error: code = ${GRPC_CODE_NAME[e.status]} desc = ${e.message}`;
}

/** Go's codes.Code names, as status errors print them. */
const GRPC_CODE_NAME: Record<AuthError['status'], string> = {
  FAILED_PRECONDITION: 'FailedPrecondition',
  INVALID_ARGUMENT: 'InvalidArgument',
  PERMISSION_DENIED: 'PermissionDenied',
  UNAUTHENTICATED: 'Unauthenticated',
  UNKNOWN: 'Unknown',
};

/**
 * Encoded response headers by revision, for the current term: a revision
 * watched by many watchers is one header encoding, not one per response.
 */
class HeaderCache {
  private term = -1;
  private readonly byRev = new Map<number, Buffer>();

  constructor(private readonly info: ServerInfo) {}

  get(revision: number): Buffer {
    const term = this.info.term;
    if (term !== this.term) {
      this.term = term;
      this.byRev.clear();
    }
    let h = this.byRev.get(revision);
    if (h === undefined) {
      // Responses of a stream follow revisions upwards: a few recent ones suffice.
      if (this.byRev.size >= 64) this.byRev.clear();
      h = encodeHeader({ clusterId: this.info.clusterId, memberId: this.info.memberId, revision, raftTerm: BigInt(term) });
      this.byRev.set(revision, h);
    }
    return h;
  }
}

class ServerWatchStream {
  private readonly ws: WatchStream;
  private readonly queue: WatchSendQueue;
  /** Watchers with progress_notify → "nothing sent since the last tick". */
  private readonly progress = new Map<bigint, boolean>();
  private readonly prevKv = new Set<bigint>();
  private readonly fragment = new Set<bigint>();
  private progressTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly call: StreamCall<pb.WatchRequest, never>,
    private readonly sh: Shared,
    private readonly onClose: () => void,
  ) {
    const metrics = sh.metrics;
    this.queue = new WatchSendQueue(watchOutput(call), sh.queueBytes, () => streamQueueItems(this.ws.size), {
      encode: (res) => this.encode(res),
      shares: (id) => this.shares(id),
      encodeShared: (res, ids) => this.encodeShared(res, ids),
      onRoom: () => sh.hub.kick(),
      // Each request may add a control response: stop reading them while many wait.
      onControlFull: () => call.pause(),
      onControlRoom: () => call.resume(),
      onError: (err) => {
        sh.logger.error({ err }, 'watch: failed to prepare a response; closing the stream');
        this.abort(Status.INTERNAL, (err as Error).message ?? String(err));
      },
      onBytes: (d) => metrics.watchBufferedBytes.inc(d),
    });
    this.ws = new WatchStream(sh.hub, this.queue);
    metrics.watchStreams.inc();
    call.on('data', (req: pb.WatchRequest) => this.onRequest(req));
    // A client that only half-closes keeps receiving (as with etcd); the call
    // ends when it is canceled or the connection goes.
    call.on('cancelled', () => this.close());
    call.on('close', () => this.close());
  }

  private header(revision: number): Buffer {
    return this.sh.headers.get(revision);
  }

  private onRequest(req: pb.WatchRequest): void {
    if (this.closed) return;
    if (req.createRequest) this.create(req.createRequest);
    else if (req.cancelRequest) this.cancel(req.cancelRequest.watchId);
    else if (req.progressRequest) this.ws.requestProgressAll();
    // etcd ignores a request with nothing set rather than ending the stream.
  }

  private create(creq: pb.WatchCreateRequest): void {
    // etcd: an empty key means "\0", the smallest key; range_end "\0" means every
    // key from `key` on (the mvcc layer's empty end); no range_end, a single key.
    const key = creq.key.length === 0 ? new Uint8Array([0]) : creq.key;
    const rangeEnd = creq.rangeEnd.length === 0 ? undefined : creq.rangeEnd.length === 1 && creq.rangeEnd[0] === 0 ? EMPTY : creq.rangeEnd;
    if (this.sh.gate.enabled) {
      // With auth on, the caller needs READ on the range. Identifying is synchronous
      // but for a simple token whose entry is not applied here yet: then reading
      // pauses until it is, so requests keep their order.
      const check = (who: AuthInfo | undefined): void => this.sh.gate.checkRange(who, key, creq.rangeEnd);
      try {
        const who = callerOf(this.sh.gate, this.call);
        if (who instanceof Promise) {
          this.call.pause();
          who.then(check).then(
            () => this.watchRange(creq, key, rangeEnd),
            (err: unknown) => this.refuse(err),
          ).finally(() => this.call.resume());
          return;
        }
        check(who);
      } catch (err) {
        this.refuse(err);
        return;
      }
    }
    this.watchRange(creq, key, rangeEnd);
  }

  private refuse(err: unknown): void {
    if (this.closed) return;
    this.queue.control(encodeWatchResponse({
      header: this.header(this.ws.rev()), watchId: INVALID_WATCH_ID, created: true, canceled: true, cancelReason: watchRefusal(err),
    }, [], true));
  }

  private watchRange(creq: pb.WatchCreateRequest, key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
    if (this.closed) return;
    const wsrev = this.ws.rev();
    const startRev = creq.startRevision === 0n ? wsrev + 1 : Number(creq.startRevision);
    let id: bigint;
    try {
      id = this.ws.watch({
        id: creq.watchId,
        key,
        rangeEnd,
        startRev,
        filters: { noPut: creq.filters.includes(FilterType.NOPUT), noDelete: creq.filters.includes(FilterType.NODELETE) },
      });
    } catch (err) {
      this.queue.control(encodeWatchResponse({
        header: this.header(wsrev), watchId: INVALID_WATCH_ID, created: true, canceled: true, cancelReason: (err as Error).message,
      }, [], true));
      return;
    }
    if (creq.progressNotify) {
      this.progress.set(id, true);
      this.startProgressTicker();
    }
    if (creq.prevKv) this.prevKv.add(id);
    if (creq.fragment) this.fragment.add(id);
    this.queue.control(encodeWatchResponse({ header: this.header(wsrev), watchId: id, created: true }, [], true));
  }

  private cancel(id: bigint): void {
    // An unknown id gets no answer at all, as in etcd.
    if (!this.ws.cancel(id)) return;
    this.progress.delete(id);
    this.prevKv.delete(id);
    this.fragment.delete(id);
    this.queue.control(encodeWatchResponse({ header: this.header(this.ws.rev()), watchId: id, canceled: true }, [], true));
  }

  /** etcd: every interval (10 min + up to 10% jitter), watchers sent nothing since the last tick get a progress notification if synced. */
  private startProgressTicker(): void {
    if (this.progressTimer !== undefined) return;
    const base = this.sh.progressNotifyIntervalMs;
    this.progressTimer = setInterval(() => {
      for (const [id, idle] of this.progress) {
        if (idle) this.ws.requestProgress(id);
        this.progress.set(id, true);
      }
    }, base + Math.floor(Math.random() * (base / 10)));
    this.progressTimer.unref();
  }

  /** An events (or progress, or compacted) response on the wire; fills prev_kv first when asked for. */
  private encode(res: MvccWatchResponse): Buffer[] | Promise<Buffer[]> {
    const id = res.watchId;
    // An event is as good as a progress notification: skip the next one.
    if (res.events.length > 0 && this.progress.get(id)) this.progress.set(id, false);
    if (res.events.length === 0 || !this.prevKv.has(id)) return this.frame(res, res.events.map((ev) => encodeEvent(ev)));
    const prevs = res.events.map((ev) => this.sh.hub.prevKv(ev));
    const build = (p: (KeyValue | undefined)[]): Buffer[] => this.frame(res, res.events.map((ev, i) => encodeEvent(ev, p[i])));
    if (prevs.some((p) => p instanceof Promise)) return Promise.all(prevs).then(build);
    return build(prevs as (KeyValue | undefined)[]);
  }

  /** A watcher's events responses depend on nothing but its id (no prev_kv, no fragmenting): fan-outs may share them. */
  private shares(id: bigint): boolean {
    return (this.prevKv.size === 0 || !this.prevKv.has(id)) && (this.fragment.size === 0 || !this.fragment.has(id));
  }

  /** One revision's events for several watchers of this stream (shares() holds for each), framed in one buffer. */
  private encodeShared(res: MvccWatchResponse, ids: readonly bigint[]): Buffer {
    if (this.progress.size > 0) {
      for (const id of ids) if (this.progress.get(id)) this.progress.set(id, false);
    }
    return encodeSharedResponses(this.header(res.revision), ids, res.events.map((ev) => encodeEvent(ev)));
  }

  private frame(res: MvccWatchResponse, events: Buffer[]): Buffer[] {
    const fields: ResponseFields = {
      header: this.header(res.revision),
      watchId: res.watchId,
      canceled: res.compactRevision !== 0,
      compactRevision: res.compactRevision,
    };
    if (this.fragment.has(res.watchId)) return encodeFragments(fields, events, this.sh.fragmentBytes, true);
    return [encodeWatchResponse(fields, events, true)];
  }

  /** Ends the call with a status (no leader, internal error). */
  abort(code: number, details: string): void {
    if (this.closed) return;
    this.close();
    this.call.fail({ code, details });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.progressTimer);
    this.ws.close();
    this.queue.close();
    this.sh.metrics.watchStreams.dec();
    this.onClose();
  }
}

export function watchService(
  source: WatchSource,
  info: ServerInfo,
  limits: Pick<ApiLimits, 'maxRequestBytes' | 'electionMs' | 'watchProgressNotifyIntervalMs'>,
  logger: Logger,
  gate: AuthGate = OPEN_GATE,
): ServiceImplementation {
  const sh: Shared = {
    gate,
    hub: source.watchHub,
    metrics: source.metrics,
    progressNotifyIntervalMs: limits.watchProgressNotifyIntervalMs,
    logger,
    fragmentBytes: limits.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    queueBytes: STREAM_QUEUE_BYTES,
    headers: new HeaderCache(info),
  };
  // Streams opened with clientv3's WithRequireLeader ("hasleader" metadata)
  // are refused without a leader, and canceled once the member has been
  // without one for a few election timeouts (etcd's monitorLeader).
  const needLeader = new Set<ServerWatchStream>();
  let noLeaderChecks = 0;
  const monitor = setInterval(() => {
    noLeaderChecks = info.leader === 0n ? noLeaderChecks + 1 : 0;
    if (noLeaderChecks < MAX_NO_LEADER_CHECKS) return;
    const err = ErrNoLeader();
    for (const s of [...needLeader]) s.abort(err.code, err.message);
  }, limits.electionMs);
  monitor.unref();
  source.onStop(() => clearInterval(monitor));

  return {
    Watch: (call: StreamCall<pb.WatchRequest, never>) => {
      const requireLeader = call.metadata.get('hasleader')[0] === 'true';
      if (requireLeader && info.leader === 0n) {
        const err = ErrNoLeader();
        call.fail({ code: err.code, details: err.message });
        return;
      }
      const stream: ServerWatchStream = new ServerWatchStream(call, sh, () => needLeader.delete(stream));
      if (requireLeader) needLeader.add(stream);
    },
  };
}
