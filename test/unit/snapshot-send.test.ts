// Maintenance.Snapshot's message stream (api/snapshot-send.ts) against a fake
// call: 32 KiB blobs with etcd's remaining_bytes, the SHA-256 of the body last,
// waits for 'drain' when the call's buffer is full, and stops (releasing the
// source) when the client goes away.

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { sendSnapshot, SNAPSHOT_SEND_BUFFER } from '../../src/server/api/snapshot-send.js';

interface Sent { remainingBytes: bigint; blob: Buffer }

class FakeCall extends EventEmitter {
  sent: Sent[] = [];
  cancelled = false;
  ended = false;
  failed: unknown;
  /** write() answers false (buffer full) for these message numbers. */
  full = new Set<number>();
  write(res: Sent): boolean {
    this.sent.push({ remainingBytes: res.remainingBytes, blob: Buffer.from(res.blob) });
    return !this.full.has(this.sent.length);
  }
  end(): void { this.ended = true; }
  fail(err: unknown): void { this.failed = err; }
}

const logger = pino({ level: 'silent' });

function source(body: Buffer, piece = 4096) {
  let closed = 0;
  return {
    size: body.length,
    chunks: (async function* () {
      for (let o = 0; o < body.length; o += piece) yield body.subarray(o, o + piece);
    })(),
    close: async () => void closed++,
    closed: () => closed,
  };
}

describe('snapshot send', () => {
  it('sends 32 KiB blobs with remaining_bytes, then the SHA-256 of the body', async () => {
    const body = Buffer.alloc(3 * SNAPSHOT_SEND_BUFFER + 4096 * 5, 7);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const call = new FakeCall();
    const src = source(body);
    await sendSnapshot(call as never, src, logger);
    expect(call.ended).toBe(true);
    expect(call.sent.map((s) => s.blob.length)).toEqual([SNAPSHOT_SEND_BUFFER, SNAPSHOT_SEND_BUFFER, SNAPSHOT_SEND_BUFFER, 4096 * 5, 32]);
    expect(call.sent.map((s) => Number(s.remainingBytes))).toEqual([body.length - 32768, body.length - 65536, 4096 * 5, 0, 0]);
    expect(Buffer.concat(call.sent.slice(0, -1).map((s) => s.blob)).equals(body)).toBe(true);
    expect(call.sent.at(-1)!.blob.equals(createHash('sha256').update(body).digest())).toBe(true);
    expect(src.closed()).toBe(1);
  });

  it('an exact multiple of 32 KiB: the last blob says 0 remaining, then the digest', async () => {
    const body = Buffer.alloc(2 * SNAPSHOT_SEND_BUFFER, 1);
    const call = new FakeCall();
    await sendSnapshot(call as never, source(body, 8192), logger);
    expect(call.sent.map((s) => [s.blob.length, Number(s.remainingBytes)])).toEqual([[32768, 32768], [32768, 0], [32, 0]]);
  });

  it('waits for drain when the call is full', async () => {
    const call = new FakeCall();
    call.full.add(1);
    const done = sendSnapshot(call as never, source(Buffer.alloc(3 * SNAPSHOT_SEND_BUFFER)), logger);
    await new Promise((r) => setTimeout(r, 20));
    expect(call.sent).toHaveLength(1);
    call.emit('drain');
    await done;
    expect(call.sent).toHaveLength(4);
    expect(call.ended).toBe(true);
  });

  it('stops and releases the source when the client goes away', async () => {
    const call = new FakeCall();
    call.full.add(1);
    const src = source(Buffer.alloc(3 * SNAPSHOT_SEND_BUFFER));
    const done = sendSnapshot(call as never, src, logger);
    await new Promise((r) => setTimeout(r, 20));
    call.cancelled = true;
    call.emit('cancelled');
    await done;
    expect(call.sent).toHaveLength(1);
    expect(call.ended).toBe(false);
    expect(src.closed()).toBe(1);
  });

  it('a source that ends short of its size fails the call instead of sending a bad digest', async () => {
    const call = new FakeCall();
    const src = { ...source(Buffer.alloc(1000)), size: 5000 };
    await sendSnapshot(call as never, src, logger);
    expect(call.ended).toBe(false);
    expect(call.failed).toMatchObject({ details: expect.stringContaining('sent 1000 bytes of 5000') });
  });
});
