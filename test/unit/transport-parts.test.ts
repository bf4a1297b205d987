import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Backoff } from '../../src/server/transport/backoff.js';
import { BoundedQueue } from '../../src/server/transport/queue.js';
import type { TransportLogger } from '../../src/server/transport/types.js';
import { decodeSnapshotChunk, encodeSnapshotChunk } from '../../src/server/transport/wire.js';

// A pino logger is a TransportLogger (checked by the compiler).
const _pinoFits: TransportLogger = pino({ level: 'silent' });
void _pinoFits;

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe('transport wire', () => {
  it('round-trips snapshot chunks', () => {
    const first = { message: bytes(30), payloadSize: 1 << 20, data: bytes(1000), last: false, crc32c: 0 };
    expect(decodeSnapshotChunk(new Uint8Array(encodeSnapshotChunk(first)))).toEqual(first);
    const last = { payloadSize: 0, data: bytes(10), last: true, crc32c: 0xffffffff };
    expect(decodeSnapshotChunk(new Uint8Array(encodeSnapshotChunk(last)))).toEqual(last);
  });
});

describe('BoundedQueue', () => {
  it('refuses pushes beyond the message bound', () => {
    const q = new BoundedQueue(3, 1 << 20);
    for (let i = 0; i < 3; i++) expect(q.push(bytes(10))).toBe(true);
    expect(q.push(bytes(10))).toBe(false);
    expect(q.length).toBe(3);
    expect(q.take(1 << 20)).toHaveLength(3);
    expect(q.length).toBe(0);
    expect(q.byteLength).toBe(0);
    expect(q.push(bytes(10))).toBe(true);
  });

  it('refuses pushes beyond the byte bound', () => {
    const q = new BoundedQueue(100, 250);
    expect(q.push(bytes(100))).toBe(true); // 104 bytes on the wire (a 4-byte frame header)
    expect(q.push(bytes(100))).toBe(true);
    expect(q.push(bytes(100))).toBe(false);
    expect(q.push(bytes(20))).toBe(true);
    expect(q.byteLength).toBe(104 + 104 + 24);
  });

  it('takes batches in order, capped in bytes but never empty', () => {
    const q = new BoundedQueue(5000, 1 << 30);
    for (let i = 0; i < 3000; i++) q.push(Uint8Array.of(i & 0xff, i >> 8));
    const seen: number[] = [];
    let batches = 0;
    while (q.length > 0) {
      const b = q.take(600); // 100 messages of 6 bytes (2 + the frame header)
      expect(b.length).toBeLessThanOrEqual(100);
      batches++;
      for (const m of b) seen.push(m[0]! | (m[1]! << 8));
    }
    expect(batches).toBe(30);
    expect(seen).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    q.push(bytes(1000));
    expect(q.take(10)).toHaveLength(1);
    q.push(bytes(1));
    q.push(bytes(1));
    expect(q.clear()).toBe(2);
  });
});

describe('Backoff', () => {
  it('doubles from min to max, jittered into [d/2, d], and resets', () => {
    const lo = new Backoff(100, 2000, () => 0);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => lo.next())).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
    const hi = new Backoff(100, 2000, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(() => hi.next())).toEqual([100, 200, 400, 800, 1600, 2000]);
    hi.reset();
    expect(hi.next()).toBe(100);
  });
});
