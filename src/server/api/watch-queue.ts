// The send side of one Watch stream: a bounded FIFO between the watch hub and
// the gRPC call. Responses are encoded and written in order, as fast as the
// call accepts them; when the call's write buffer is full (the client reads
// slowly, HTTP/2 flow control has stopped us) responses wait here, and once
// the backlog reaches its limits — bytes, or a number of responses like etcd's
// 128-slot channel per stream, scaled with the stream's watchers since one
// revision can mean one response per watcher — the queue refuses more: the hub
// then keeps the refused response with its watcher (a victim) and nothing else
// accumulates. When the backlog falls to half, `onRoom` tells the hub to offer
// them again.
//
// A fan-out (one revision's events for many watchers of the stream, offered
// one after the other by the hub) is kept as one item: the events once and the
// watch ids, encoded into one buffer when it is written (hooks.shares and
// encodeShared). A thousand watchers are then a few objects per revision, not
// a few per watcher: less to allocate, and less for the scavenger to copy
// while a slow client keeps the backlog alive.
//
// Control responses (created, canceled) and event-less ones (progress,
// compacted) are never refused: they are small and the client's own requests
// produce them. Like etcd's 16-slot control channel, too many of them waiting
// makes the stream stop reading requests (`onControlFull`) until they are out,
// so a client cannot grow the backlog without bound; event backlog alone does
// not, so a congested client can still cancel watchers.

import { EVENT_OVERHEAD_BYTES, type MvccWatchResponse, type WatchSink } from '../../mvcc/index.js';
import { runSoon } from '../../util/microtask.js';
import type { WatchOutput } from './watch-output.js';

export type QueueItem =
  | { kind: 'events'; res: MvccWatchResponse }
  /** res's events and revision for each of ids (res.watchId is ids[0]); `each`: one response's estimated bytes. */
  | { kind: 'shared'; res: MvccWatchResponse; ids: bigint[]; each: number }
  | { kind: 'control'; msg: Buffer };

export interface WatchQueueHooks {
  /** Turns an events item into framed wire messages (several when fragmented); may need a read (prev_kv). */
  encode(res: MvccWatchResponse): Buffer[] | Promise<Buffer[]>;
  /**
   * Whether res's encoding is a function of its events, revision and watch id
   * only (no prev_kv to read, no fragmenting), so that it may join a fan-out.
   */
  shares?(watchId: bigint): boolean;
  /** The framed responses of res's events and revision for each of ids, in one buffer. */
  encodeShared?(res: MvccWatchResponse, ids: readonly bigint[]): Buffer;
  /** The event backlog is back under half its limits after refusing a response: offer again. */
  onRoom(): void;
  /** Too many control responses wait: stop reading requests. */
  onControlFull(): void;
  /** They are down to half: read requests again. */
  onControlRoom(): void;
  /** Encoding failed (a bug or a closed store): the stream must end. */
  onError(err: unknown): void;
  /** Backlog size changes, for the buffered-bytes gauge. */
  onBytes?(delta: number): void;
}

const RESPONSE_OVERHEAD_BYTES = 64;
/** Control responses allowed to wait before requests stop being read (etcd: 16, blocking). */
const MAX_CONTROL_WAITING = 64;
/** Responses are written in batches of about this many bytes (one HTTP/2 write each). */
const BATCH_BYTES = 64 * 1024;

function responseBytes(res: MvccWatchResponse): number {
  let n = RESPONSE_OVERHEAD_BYTES;
  for (const ev of res.events) n += ev.kv.key.length + ev.kv.value.length + EVENT_OVERHEAD_BYTES;
  return n;
}

export class WatchSendQueue implements WatchSink {
  private items: (QueueItem | undefined)[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  /** Bytes last told to hooks.onBytes (the gauge follows once per pump, not per response). */
  private reportedBytes = 0;
  /** Responses waiting (a shared item holds several). */
  private responses = 0;
  private writable = true;
  private busy = false;
  private scheduled = false;
  private pressured = false;
  private controls = 0;
  private controlPaused = false;
  private closed = false;

  constructor(
    private readonly out: WatchOutput,
    private readonly maxBytes: number,
    /** Responses allowed to wait (read at each check: it follows the stream's watcher count). */
    private readonly maxItems: () => number,
    private readonly hooks: WatchQueueHooks,
  ) {}

  private over(): boolean {
    return this.bytes >= this.maxBytes || this.responses >= this.maxItems();
  }

  /** Bytes waiting (estimated in-memory size of the queued responses). */
  get backlogBytes(): number {
    return this.bytes;
  }

  /** WatchSink: an events response from the hub. */
  send(res: MvccWatchResponse): boolean {
    if (this.closed) return true; // nobody will read it; the watchers are being canceled
    if (res.events.length === 0) {
      this.pushEvents(res);
      return true;
    }
    if (this.over()) {
      this.pressured = true;
      return false;
    }
    if (res.compactRevision === 0 && this.joinFanOut(res.watchId, res.events, res.revision)) return true;
    this.pushEvents(res);
    return true;
  }

  /** WatchSink: send() of an events response, without the object when it joins a fan-out. */
  sendEvents(watchId: bigint, events: MvccWatchResponse['events'], revision: number): boolean {
    if (this.closed) return true;
    if (events.length > 0 && this.over()) {
      this.pressured = true;
      return false;
    }
    if (events.length === 0 || !this.joinFanOut(watchId, events, revision)) {
      this.pushEvents({ watchId, events, revision, compactRevision: 0 });
    }
    return true;
  }

  /**
   * The same events at the same revision as the response just queued (a
   * fan-out): one more id on that item. False when it cannot join (the
   * watcher's responses are its own, or the last item is another revision's).
   */
  private joinFanOut(watchId: bigint, events: MvccWatchResponse['events'], revision: number): boolean {
    const last = this.items.length > this.head ? this.items[this.items.length - 1]! : undefined;
    if (last?.kind !== 'shared' || last.res.events !== events || last.res.revision !== revision) return false;
    if (this.hooks.shares?.(watchId) !== true) return false;
    last.ids.push(watchId);
    this.sizes[this.sizes.length - 1]! += last.each;
    this.bytes += last.each;
    this.responses++;
    return true;
  }

  /** Queues an events response: as the start of a fan-out when its watcher's responses may be shared. */
  private pushEvents(res: MvccWatchResponse): void {
    const each = responseBytes(res);
    if (res.events.length > 0 && res.compactRevision === 0 && this.hooks.shares?.(res.watchId) === true) {
      this.push({ kind: 'shared', res, ids: [res.watchId], each }, each, 1);
    } else {
      this.push({ kind: 'events', res }, each, 1);
    }
  }

  /** A control response, already encoded and framed. */
  control(msg: Buffer): void {
    if (this.closed) return;
    this.push({ kind: 'control', msg }, msg.length + RESPONSE_OVERHEAD_BYTES, 1);
    if (++this.controls >= MAX_CONTROL_WAITING && !this.controlPaused) {
      this.controlPaused = true;
      this.hooks.onControlFull();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reportedBytes !== 0) this.hooks.onBytes?.(-this.reportedBytes);
    this.items = [];
    this.sizes = [];
    this.bytes = 0;
    this.reportedBytes = 0;
    this.responses = 0;
  }

  /** Tells hooks.onBytes how the backlog changed since it was last told. */
  private reportBytes(): void {
    if (this.closed || this.bytes === this.reportedBytes) return;
    this.hooks.onBytes?.(this.bytes - this.reportedBytes);
    this.reportedBytes = this.bytes;
  }

  private push(item: QueueItem, n: number, responses: number): void {
    this.items.push(item);
    this.sizes.push(n);
    this.bytes += n;
    this.responses += responses;
    // Written from a microtask, not from inside the hub's delivery loop: the
    // apply path only pays for the push.
    if (!this.scheduled) {
      this.scheduled = true;
      runSoon(this.pumpSoon);
    }
  }

  /** push's microtask, made once. */
  private readonly pumpSoon = (): void => {
    this.scheduled = false;
    this.pump();
  };

  private pump(): void {
    this.pumpItems();
    this.reportBytes();
  }

  private pumpItems(): void {
    if (this.busy || this.closed || !this.writable) return;
    let batch: Buffer[] = [];
    let batchBytes = 0;
    while (this.head < this.items.length) {
      const item = this.items[this.head]!;
      let bufs: Buffer[] | Promise<Buffer[]>;
      if (item.kind === 'control') {
        bufs = [item.msg];
      } else if (item.kind === 'shared') {
        try {
          bufs = item.ids.length === 1 ? this.hooks.encode(item.res) : [this.hooks.encodeShared!(item.res, item.ids)];
        } catch (err) {
          this.hooks.onError(err);
          return;
        }
      } else {
        try {
          bufs = this.hooks.encode(item.res);
        } catch (err) {
          this.hooks.onError(err);
          return;
        }
      }
      if (!Array.isArray(bufs)) {
        // A read is needed (prev_kv): what is encoded goes first, order is kept.
        this.flush(batch);
        this.busy = true;
        bufs.then(
          (b) => {
            this.busy = false;
            if (this.closed) return;
            this.take();
            this.flush(b);
            this.pump();
          },
          (err: unknown) => {
            this.busy = false;
            this.hooks.onError(err);
          },
        );
        return;
      }
      this.take();
      for (const b of bufs) {
        batch.push(b);
        batchBytes += b.length;
      }
      if (batchBytes >= BATCH_BYTES) {
        if (!this.flush(batch)) return;
        batch = [];
        batchBytes = 0;
      }
    }
    this.flush(batch);
  }

  /** Writes a batch; false when the output is full (pumping resumes on 'drain'). */
  private flush(batch: Buffer[]): boolean {
    if (batch.length > 0 && !this.closed && !this.out.write(batch) && this.writable) {
      this.writable = false;
      this.out.onceDrain(() => {
        this.writable = true;
        this.pump();
      });
    }
    return this.writable;
  }

  /** The head item is encoded: drop it from the backlog, maybe report room. */
  private take(): void {
    const n = this.sizes[this.head]!;
    const item = this.items[this.head]!;
    this.responses -= item.kind === 'shared' ? item.ids.length : 1;
    if (item.kind === 'control' && --this.controls <= MAX_CONTROL_WAITING / 2 && this.controlPaused) {
      this.controlPaused = false;
      this.hooks.onControlRoom();
    }
    this.items[this.head] = undefined;
    this.head++;
    this.bytes -= n;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    if (this.pressured && this.bytes <= this.maxBytes / 2 && this.responses <= this.maxItems() / 2) {
      this.pressured = false;
      this.hooks.onRoom();
    }
  }
}
