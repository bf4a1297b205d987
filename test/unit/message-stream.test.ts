// MessageStream's state machine over a fake link and fake timers: connecting,
// active, backoff and stopped; one write per synchronous burst; backpressure;
// dial timeout, backoff with jitter and URL rotation; keepalive; refusals.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PeerContext } from '../../src/server/transport/context.js';
import { FrameDecoder } from '../../src/server/transport/frames.js';
import { type Dialer, MessageStream, type StreamEvents, type StreamLink } from '../../src/server/transport/message-stream.js';
import { DEFAULT_LIMITS, type TransportLimits } from '../../src/server/transport/types.js';
import { peerDialer } from '../../src/server/tls/peer-dialer.js';

interface FakeLink extends StreamLink {
  url: string;
  events: StreamEvents;
  writes: Uint8Array[];
  closed: boolean;
  /** What write() answers next. */
  accepts: boolean;
}

interface Harness {
  stream: MessageStream;
  links: FakeLink[];
  logs: { level: string; msg: string; obj: Record<string, unknown> }[];
  unreachable: bigint[];
  removed: number;
  rotations: number;
}

const LIMITS: TransportLimits = { ...DEFAULT_LIMITS, backoffMinMs: 100, backoffMaxMs: 800, dialTimeoutMs: 1000, keepaliveMs: 5000, keepaliveTimeoutMs: 2000 };

function harness(limits: Partial<TransportLimits> = {}): Harness {
  const h = { links: [], logs: [], unreachable: [], removed: 0, rotations: 0 } as unknown as Harness;
  const urls = ['http://a:1', 'http://b:2'];
  let urlIndex = 0;
  const log =
    (level: string) =>
    (obj: Record<string, unknown>, msg: string): void =>
      void h.logs.push({ level, obj, msg });
  const ctx: PeerContext = {
    localId: 1n,
    clusterId: 0xc1n,
    limits: { ...LIMITS, ...limits },
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    reportUnreachable: (id) => void h.unreachable.push(id),
    reportSnapshot: () => {},
    reportRemoved: () => void h.removed++,
    dialer: peerDialer(),
  };
  const dialer: Dialer = {
    dial: (events) => {
      const link: FakeLink = {
        url: urls[urlIndex]!,
        events,
        writes: [],
        closed: false,
        accepts: true,
        write(bytes) {
          this.writes.push(bytes);
          return this.accepts;
        },
        close() {
          this.closed = true;
        },
      };
      h.links.push(link);
      return link;
    },
    url: () => urls[urlIndex]!,
    rotate: () => {
      urlIndex = (urlIndex + 1) % urls.length;
      h.rotations++;
    },
  };
  h.stream = new MessageStream(2n, ctx, dialer);
  return h;
}

const last = (h: Harness): FakeLink => h.links[h.links.length - 1]!;
const msg = (n: number, size = 10): Uint8Array => new Uint8Array(size).fill(n);
const microtasks = (): Promise<void> => new Promise((r) => queueMicrotask(r));

/** The payloads of every frame written to a link, pings included (as empty ones). */
function frames(link: FakeLink): number[][] {
  const out: number[][] = [];
  const d = new FrameDecoder(1 << 30, (p) => void out.push([...p]));
  for (const w of link.writes) d.push(w);
  return out;
}

async function activate(h: Harness): Promise<FakeLink> {
  h.stream.start();
  const link = last(h);
  link.events.accepted(0xc1n);
  await microtasks();
  return link;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  vi.spyOn(Math, 'random').mockReturnValue(1); // backoff at the top of its jitter range
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('MessageStream', () => {
  it('connects, becomes active on acceptance, and writes one burst of sends as one write', async () => {
    const h = harness();
    expect(h.stream.state).toBe('idle');
    expect(h.stream.send(msg(1))).toBe(false); // not started: dropped (the caller reports it)
    h.stream.start();
    expect(h.stream.state).toBe('connecting');
    expect(h.links).toHaveLength(1);
    expect(h.stream.send(msg(1))).toBe(true); // queued while connecting
    expect(h.stream.activeSince).toBeUndefined();
    vi.setSystemTime(1_000_500);
    last(h).events.accepted(0xc1n);
    expect(h.stream.state).toBe('active');
    expect(h.stream.activeSince).toBe(1_000_500);
    expect(h.logs.find((l) => l.msg === 'peer became active')?.obj).toEqual({ peer: '2', url: 'http://a:1' });
    expect(frames(last(h))).toEqual([[...msg(1)]]); // what was queued goes out at once

    for (let i = 2; i <= 6; i++) expect(h.stream.send(msg(i))).toBe(true);
    expect(last(h).writes).toHaveLength(1); // nothing yet: the write waits for the microtask
    await microtasks();
    expect(last(h).writes).toHaveLength(2);
    expect(frames(last(h)).slice(1)).toEqual([2, 3, 4, 5, 6].map((i) => [...msg(i)]));
    expect(h.unreachable).toEqual([]);
  });

  it('writeQueued writes what is queued now, in one write; the microtask then has nothing left', async () => {
    const h = harness();
    const link = await activate(h);
    h.stream.writeQueued(); // nothing queued: no write
    expect(link.writes).toHaveLength(0);
    h.stream.send(msg(1));
    h.stream.send(msg(2));
    h.stream.writeQueued();
    expect(frames(link)).toEqual([[...msg(1)], [...msg(2)]]);
    expect(link.writes).toHaveLength(1);
    h.stream.send(msg(3)); // a send after it waits for a microtask again
    expect(link.writes).toHaveLength(1);
    await microtasks();
    expect(link.writes).toHaveLength(2);
    expect(frames(link).map((f) => f[0])).toEqual([1, 2, 3]);
    // Pushed back: writeQueued leaves it to the drain, as the microtask would.
    link.accepts = false;
    h.stream.send(msg(4));
    h.stream.writeQueued();
    expect(link.writes).toHaveLength(3);
    h.stream.send(msg(5));
    h.stream.writeQueued();
    await microtasks();
    expect(link.writes).toHaveLength(3);
  });

  it('cuts a large burst into writes of at most maxBatchBytes (never less than one message)', async () => {
    const h = harness({ maxBatchBytes: 100 });
    const link = await activate(h);
    for (let i = 0; i < 10; i++) h.stream.send(msg(i, 30)); // 34 bytes each on the wire
    h.stream.send(msg(99, 500));
    await microtasks();
    expect(link.writes.map((w) => w.length)).toEqual([68, 68, 68, 68, 68, 504]);
    expect(frames(link).map((f) => f[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99]);
  });

  it('waits for drain when the socket pushes back, then writes what queued meanwhile in one go', async () => {
    const h = harness();
    const link = await activate(h);
    link.accepts = false;
    h.stream.send(msg(1));
    await microtasks();
    expect(link.writes).toHaveLength(1);
    link.accepts = true;
    for (let i = 2; i <= 4; i++) h.stream.send(msg(i));
    await microtasks();
    expect(link.writes).toHaveLength(1); // still waiting for 'drain'
    expect(h.stream.queued).toBe(3);
    link.events.drain();
    expect(link.writes).toHaveLength(2);
    expect(frames(link).map((f) => f[0])).toEqual([1, 2, 3, 4]);
    expect(h.stream.queued).toBe(0);
  });

  it('bounds the queue: a send beyond it is refused', () => {
    const h = harness({ maxQueueMessages: 3 });
    h.stream.start();
    for (let i = 0; i < 3; i++) expect(h.stream.send(msg(i))).toBe(true);
    expect(h.stream.send(msg(3))).toBe(false);
    expect(h.stream.queued).toBe(3);
  });

  it('a dial that is not accepted in time fails: queue dropped and reported, next URL after a backoff', () => {
    const h = harness();
    h.stream.start();
    h.stream.send(msg(1));
    vi.advanceTimersByTime(999);
    expect(h.stream.state).toBe('connecting');
    vi.advanceTimersByTime(1);
    expect(h.stream.state).toBe('backoff');
    expect(h.links[0]!.closed).toBe(true);
    expect(h.unreachable).toEqual([2n]);
    expect(h.logs.at(-1)).toMatchObject({
      level: 'warn',
      msg: 'cannot reach peer: peer did not accept the stream within 1000 ms',
      obj: { peer: '2', url: 'http://a:1', dropped: 1 },
    });
    expect(h.stream.send(msg(2))).toBe(false); // in backoff: dropped
    vi.advanceTimersByTime(100);
    expect(h.stream.state).toBe('connecting');
    expect(h.links.map((l) => l.url)).toEqual(['http://a:1', 'http://b:2']);
  });

  it('backs off 100 ms doubling to the cap, jittered into [d/2, d]; the same failure is logged once', () => {
    const h = harness();
    const dialTimes: number[] = [];
    const t0 = Date.now();
    h.stream.start();
    dialTimes.push(Date.now() - t0);
    for (let i = 0; i < 6; i++) {
      last(h).events.ended({ kind: 'error', message: 'connect ECONNREFUSED' });
      const n = h.links.length;
      while (h.links.length === n) vi.advanceTimersByTime(1);
      dialTimes.push(Date.now() - t0);
    }
    const gaps = dialTimes.slice(1).map((t, i) => t - dialTimes[i]!);
    expect(gaps).toEqual([100, 200, 400, 800, 800, 800]);
    expect(h.logs.filter((l) => l.level === 'warn' && l.msg === 'cannot reach peer: connect ECONNREFUSED')).toHaveLength(1);
    expect(h.logs.filter((l) => l.level === 'debug')).toHaveLength(5);
    expect(h.rotations).toBe(6);

    // Jitter: with random() = 0 the delay is half.
    vi.mocked(Math.random).mockReturnValue(0);
    last(h).events.ended({ kind: 'error', message: 'x' });
    const before = h.links.length;
    vi.advanceTimersByTime(399);
    expect(h.links).toHaveLength(before);
    vi.advanceTimersByTime(1);
    expect(h.links).toHaveLength(before + 1);

    // Success resets the backoff.
    vi.mocked(Math.random).mockReturnValue(1);
    last(h).events.accepted(undefined);
    last(h).events.ended({ kind: 'closed' });
    const n = h.links.length;
    vi.advanceTimersByTime(100);
    expect(h.links).toHaveLength(n + 1);
  });

  it('a lost active stream reports the peer unreachable and warns once', async () => {
    const h = harness();
    const link = await activate(h);
    link.events.ended({ kind: 'closed' });
    expect(h.stream.state).toBe('backoff');
    expect(h.stream.activeSince).toBeUndefined();
    expect(h.unreachable).toEqual([2n]);
    expect(h.logs.at(-1)).toMatchObject({ level: 'warn', msg: 'peer became inactive (message stream lost)', obj: { reason: 'peer closed the stream' } });
  });

  it('refusals: another cluster and another member are errors; removed reports removal', async () => {
    const h = harness();
    h.stream.start();
    last(h).events.ended({ kind: 'refused', status: 412, details: 'cluster ID mismatch: local bb, remote c1', remoteCluster: 0xbbn });
    expect(h.logs.at(-1)).toMatchObject({ level: 'error', msg: 'cannot reach peer: cluster ID mismatch: local c1, remote bb' });
    vi.advanceTimersByTime(100);
    last(h).events.ended({ kind: 'refused', status: 412, details: 'member ID mismatch: local 3, addressed to 2', remoteCluster: 0xc1n });
    expect(h.logs.at(-1)).toMatchObject({ level: 'error', msg: 'cannot reach peer: peer refused the stream: member ID mismatch: local 3, addressed to 2' });
    expect(h.removed).toBe(0);
    vi.advanceTimersByTime(200);
    last(h).events.ended({ kind: 'refused', status: 413, details: 'raft message of 9 bytes is larger than the limit of 1' });
    expect(h.logs.at(-1)!.level).toBe('warn');
    vi.advanceTimersByTime(400);
    last(h).events.ended({ kind: 'refused', status: 410, details: 'member 1 was removed from the cluster', remoteCluster: 0xc1n });
    expect(h.logs.at(-1)).toMatchObject({ level: 'error', msg: 'cannot reach peer: peer refused the stream: member 1 was removed from the cluster' });
    expect(h.removed).toBe(1);
  });

  it('an acceptance from another cluster is refused on our side', () => {
    const h = harness();
    h.stream.start();
    last(h).events.accepted(0xddn);
    expect(h.stream.state).toBe('backoff');
    expect(h.links[0]!.closed).toBe(true);
    expect(h.logs.at(-1)).toMatchObject({ level: 'error', msg: 'cannot reach peer: cluster ID mismatch: local c1, remote dd' });
  });

  it('pings every keepaliveMs while active; a ping not answered in time loses the stream', async () => {
    const h = harness();
    const link = await activate(h);
    vi.advanceTimersByTime(4999);
    expect(link.writes).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(frames(link)).toEqual([[]]); // an empty frame
    link.events.pong();
    vi.advanceTimersByTime(5000);
    expect(frames(link)).toEqual([[], []]);
    vi.advanceTimersByTime(1999);
    expect(h.stream.state).toBe('active');
    vi.advanceTimersByTime(1);
    expect(h.stream.state).toBe('backoff');
    expect(link.closed).toBe(true);
    expect(h.logs.at(-1)).toMatchObject({ level: 'warn', msg: 'peer became inactive (message stream lost)', obj: { reason: 'peer did not answer a keepalive ping within 2000 ms' } });
  });

  it('ignores events from a link it has replaced; restart drops the queue and dials at once; stop leaves no timer', async () => {
    const h = harness();
    h.stream.start();
    h.stream.send(msg(1));
    const old = last(h);
    h.stream.restart();
    expect(old.closed).toBe(true);
    expect(h.unreachable).toEqual([2n]); // the queued message was dropped
    expect(h.links).toHaveLength(2);
    old.events.accepted(0xc1n);
    old.events.ended({ kind: 'closed' });
    expect(h.stream.state).toBe('connecting');
    last(h).events.accepted(0xc1n);
    expect(h.stream.state).toBe('active');
    h.stream.stop();
    expect(last(h).closed).toBe(true);
    expect(h.stream.state).toBe('stopped');
    expect(h.stream.send(msg(2))).toBe(false);
    h.stream.start(); // no effect once stopped
    h.stream.restart();
    expect(h.links).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });
});
