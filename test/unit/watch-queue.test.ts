import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { MvccWatchResponse } from '../../src/mvcc/index.js';
import type { Event } from '../../src/mvcc/types.js';
import { watchOutput, type WatchOutput } from '../../src/server/api/watch-output.js';
import { WatchSendQueue } from '../../src/server/api/watch-queue.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** An output that takes `room` writes before it reports full, then waits for drain(). */
class FakeOutput extends EventEmitter implements WatchOutput {
  written: string[] = [];
  writes = 0;
  constructor(public room = Infinity) {
    super();
  }
  write(framed: Buffer[]): boolean {
    this.writes++;
    for (const f of framed) this.written.push(f.toString());
    return --this.room > 0;
  }
  onceDrain(fn: () => void): void {
    this.once('drain', fn);
  }
  drain(room: number): void {
    this.room = room;
    this.emit('drain');
  }
}

const ev = (rev: number, value = 'v'): Event => ({
  type: 'PUT', kv: { key: Buffer.from('k'), value: Buffer.from(value), createRevision: rev, modRevision: rev, version: 1, lease: 0n },
});
const res = (rev: number, value?: string): MvccWatchResponse => ({ watchId: 0n, events: [ev(rev, value)], revision: rev, compactRevision: 0 });

function queue(out: FakeOutput, maxBytes = 1 << 20, maxItems = 100, encode?: (r: MvccWatchResponse) => Buffer[] | Promise<Buffer[]>) {
  const log: string[] = [];
  const q = new WatchSendQueue(out, maxBytes, () => maxItems, {
    encode: encode ?? ((r) => [Buffer.from(`ev${r.revision}`)]),
    onRoom: () => log.push('room'),
    onControlFull: () => log.push('control full'),
    onControlRoom: () => log.push('control room'),
    onError: (err) => log.push(`error ${(err as Error).message}`),
  });
  return { q, log };
}

describe('watch send queue', () => {
  it('writes control and event responses in order, batched into few writes', async () => {
    const out = new FakeOutput();
    const { q } = queue(out);
    q.control(Buffer.from('created'));
    for (let i = 1; i <= 5; i++) expect(q.send(res(i))).toBe(true);
    await tick();
    expect(out.written).toEqual(['created', 'ev1', 'ev2', 'ev3', 'ev4', 'ev5']);
    expect(out.writes).toBe(1);
    expect(q.backlogBytes).toBe(0);
  });

  it('refuses events (never control responses) once the backlog reaches its count or byte limit, and reports room at half', async () => {
    const out = new FakeOutput(1);
    const { q, log } = queue(out, 1 << 20, 4);
    expect(q.send(res(1))).toBe(true);
    await tick(); // written; the output is now full
    for (let i = 2; i <= 5; i++) expect(q.send(res(i))).toBe(true);
    expect(q.send(res(6))).toBe(false);
    q.control(Buffer.from('canceled')); // still taken
    expect(q.send({ watchId: -1n, events: [], revision: 6, compactRevision: 0 })).toBe(true); // progress: taken
    out.drain(Infinity);
    await tick();
    expect(log).toEqual(['room']);
    expect(out.written).toEqual(['ev1', 'ev2', 'ev3', 'ev4', 'ev5', 'canceled', 'ev6']);

    const small = new FakeOutput(1);
    const bytes = queue(small, 300, 1000);
    bytes.q.send(res(1));
    await tick();
    expect(bytes.q.send(res(2, 'x'.repeat(400)))).toBe(true); // under budget when offered
    expect(bytes.q.send(res(3))).toBe(false);
  });

  it('stops reading requests while too many control responses wait, and reads again at half', async () => {
    const out = new FakeOutput(1);
    const { q, log } = queue(out);
    q.control(Buffer.from('c0'));
    await tick(); // written; the output is now full
    for (let i = 1; i < 64; i++) q.control(Buffer.from(`c${i}`));
    expect(log).toEqual([]);
    q.control(Buffer.from('c64'));
    expect(log).toEqual(['control full']);
    out.drain(Infinity);
    await tick();
    expect(log).toEqual(['control full', 'control room']);
    expect(out.written).toHaveLength(65);
  });

  it('keeps order across an encode that needs a read (prev_kv)', async () => {
    const out = new FakeOutput();
    const { q } = queue(out, 1 << 20, 100, (r) =>
      r.revision === 2 ? new Promise((ok) => setTimeout(() => ok([Buffer.from('ev2-slow')]), 20)) : [Buffer.from(`ev${r.revision}`)]);
    for (let i = 1; i <= 3; i++) q.send(res(i));
    q.control(Buffer.from('ctl'));
    await new Promise((r) => setTimeout(r, 50));
    expect(out.written).toEqual(['ev1', 'ev2-slow', 'ev3', 'ctl']);
  });

  it('after close nothing more is written and sends are swallowed', async () => {
    const out = new FakeOutput(1);
    const { q } = queue(out);
    q.send(res(1));
    await tick();
    q.send(res(2));
    q.close();
    out.drain(Infinity);
    await tick();
    expect(out.written).toEqual(['ev1']);
    expect(q.send(res(3))).toBe(true);
    expect(q.backlogBytes).toBe(0);
  });
});

describe('watch send queue: fan-outs', () => {
  /** A queue whose watchers all share their encoding except those in `own`; logs what each encode call got. */
  function sharing(out: FakeOutput, own = new Set<bigint>(), maxItems = 100) {
    const calls: string[] = [];
    const bytes: number[] = [];
    const q = new WatchSendQueue(out, 1 << 20, () => maxItems, {
      encode: (r) => {
        calls.push(`one ${r.watchId}@${r.revision}`);
        return [Buffer.from(`ev${r.revision}#${r.watchId}`)];
      },
      shares: (id) => !own.has(id),
      encodeShared: (r, ids) => {
        calls.push(`shared ${ids.join(',')}@${r.revision}`);
        return Buffer.from(ids.map((id) => `ev${r.revision}#${id}`).join('|'));
      },
      onRoom: () => calls.push('room'),
      onControlFull: () => {},
      onControlRoom: () => {},
      onError: (err) => calls.push(`error ${(err as Error).message}`),
      onBytes: (d) => bytes.push(d),
    });
    return { q, calls, bytes };
  }
  const fan = (events: Event[], rev: number, id: bigint): MvccWatchResponse => ({ watchId: id, events, revision: rev, compactRevision: 0 });

  it('joins consecutive responses carrying the same events at the same revision, keeping order with everything else', async () => {
    const out = new FakeOutput();
    const { q, calls } = sharing(out, new Set([7n]));
    const e1 = [ev(1)];
    const e2 = [ev(2)];
    for (const id of [0n, 1n, 2n]) q.send(fan(e1, 1, id));
    q.send(fan(e1, 1, 7n)); // prev_kv or fragment: encoded on its own
    q.send(fan(e1, 1, 3n)); // after it: a new item, order kept
    q.control(Buffer.from('created'));
    q.send(fan(e2, 2, 0n));
    q.send(fan(e2, 2, 1n));
    q.send(fan([ev(2)], 2, 2n)); // equal events but another array (filtered for its watcher): not joined
    q.send({ watchId: 4n, events: e2, revision: 2, compactRevision: 9 }); // compacted: never joined
    await tick();
    expect(calls).toEqual(['shared 0,1,2@1', 'one 7@1', 'one 3@1', 'shared 0,1@2', 'one 2@2', 'one 4@2']);
    expect(out.written.join('|')).toBe('ev1#0|ev1#1|ev1#2|ev1#7|ev1#3|created|ev2#0|ev2#1|ev2#2|ev2#4');
  });

  it('counts every response of a fan-out against the limits, refuses past them, and reports room at half', async () => {
    const out = new FakeOutput(1);
    const { q, calls, bytes } = sharing(out, new Set(), 4);
    q.send(fan([ev(1)], 1, 0n));
    await tick(); // written; the output is now full
    const e2 = [ev(2)];
    for (const id of [0n, 1n, 2n, 3n]) expect(q.send(fan(e2, 2, id))).toBe(true);
    expect(q.send(fan(e2, 2, 4n))).toBe(false);
    expect(q.backlogBytes).toBeGreaterThan(0);
    out.drain(Infinity);
    await tick();
    expect(calls).toEqual(['one 0@1', 'shared 0,1,2,3@2', 'room']);
    expect(q.backlogBytes).toBe(0);
    // the gauge saw the backlog come and go, once per pump rather than per response
    expect(bytes.reduce((a, b) => a + b, 0)).toBe(0);
    expect(bytes.length).toBeLessThanOrEqual(4);
  });

  it('sendEvents (no response object) joins and refuses as send does', async () => {
    const out = new FakeOutput(1);
    const { q, calls } = sharing(out, new Set([2n]), 3);
    q.send(fan([ev(1)], 1, 0n));
    await tick(); // written; the output is now full
    const e = [ev(2)];
    expect(q.sendEvents(0n, e, 2)).toBe(true);
    expect(q.send(fan(e, 2, 1n))).toBe(true);
    expect(q.sendEvents(2n, e, 2)).toBe(true); // its own item
    expect(q.sendEvents(3n, e, 2)).toBe(false);
    out.drain(Infinity);
    await tick();
    expect(calls).toEqual(['one 0@1', 'shared 0,1@2', 'room', 'one 2@2']); // room: 1 of 3 left
    expect(out.written.join('|')).toBe('ev1#0|ev2#0|ev2#1|ev2#2');
  });

  it('does not join a response to an item already written', async () => {
    const out = new FakeOutput();
    const { q, calls } = sharing(out);
    const e = [ev(1)];
    q.send(fan(e, 1, 0n));
    await tick();
    q.send(fan(e, 1, 1n));
    await tick();
    expect(calls).toEqual(['one 0@1', 'one 1@1']);
  });
});

describe('watch output', () => {
  const framed = (s: string): Buffer => {
    const body = Buffer.from(s);
    const f = Buffer.alloc(5 + body.length);
    f.writeUInt32BE(body.length, 1);
    body.copy(f, 5);
    return f;
  };

  it('writes a batch of framed messages in one write, and waits for drain on the call', () => {
    const chunks: Buffer[] = [];
    let full = false;
    const call = Object.assign(new EventEmitter(), {
      writeFramed(b: Buffer) {
        chunks.push(b);
        return !full;
      },
    });
    const out = watchOutput(call);
    expect(out.write([framed('a'), framed('bc')])).toBe(true);
    expect(chunks).toEqual([Buffer.concat([framed('a'), framed('bc')])]);
    full = true;
    const one = framed('d');
    expect(out.write([one])).toBe(false);
    expect(chunks[1]).toBe(one); // a single message goes as it is, uncopied
    let drained = 0;
    out.onceDrain(() => drained++);
    call.emit('drain');
    call.emit('drain');
    expect(drained).toBe(1);
  });
});
