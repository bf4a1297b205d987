import { describe, expect, it } from 'vitest';
import { preallocate, ZERO_FILL_STEP } from '../../src/wal/fsutil.js';
import type { WalFile, WriteCallback } from '../../src/wal/wal-fs.js';

/** A file in memory that records what reached it and what was synced when. */
class RecordingFile implements WalFile {
  bytes = new Uint8Array(0);
  /** The file's length at each datasync. */
  syncedAt: number[] = [];
  /** Bytes written since the last datasync, at each write. */
  unsyncedAtWrite: number[] = [];
  private unsynced = 0;

  constructor(initial: Uint8Array = new Uint8Array(0), private readonly shortWrites = false) {
    this.bytes = initial.slice();
  }

  write(buf: Uint8Array, offset: number, length: number, position: number, cb: WriteCallback): void {
    const n = this.shortWrites ? Math.min(length, 4096 + 17) : length;
    if (position + n > this.bytes.length) {
      const grown = new Uint8Array(position + n);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(buf.subarray(offset, offset + n), position);
    this.unsynced += n;
    this.unsyncedAtWrite.push(this.unsynced);
    setImmediate(() => cb(null, n));
  }
  async datasync(): Promise<void> {
    this.unsynced = 0;
    this.syncedAt.push(this.bytes.length);
  }
  async sync(): Promise<void> {
    await this.datasync();
  }
  async truncate(size: number): Promise<void> {
    const t = new Uint8Array(size);
    t.set(this.bytes.subarray(0, size));
    this.bytes = t;
  }
  async size(): Promise<number> {
    return this.bytes.length;
  }
  async close(): Promise<void> {}
}

describe('preallocate', () => {
  it('zero-fills in steps, each synced before the next is written, and ends durable', async () => {
    const size = 5 * ZERO_FILL_STEP + 123;
    const f = new RecordingFile();
    await preallocate(f, size, true);
    expect(f.bytes.length).toBe(size);
    expect(f.bytes.every((b) => b === 0)).toBe(true);
    expect(Math.max(...f.unsyncedAtWrite)).toBeLessThanOrEqual(ZERO_FILL_STEP);
    expect(f.syncedAt).toEqual([1, 2, 3, 4, 5].map((k) => k * ZERO_FILL_STEP).concat(size));
  });

  it('keeps what the file already holds and fills only the rest, short writes included', async () => {
    const head = new Uint8Array(1000).fill(9);
    const size = 2 * ZERO_FILL_STEP;
    const f = new RecordingFile(head, true);
    await preallocate(f, size, true);
    expect(f.bytes.length).toBe(size);
    expect(f.bytes.subarray(0, 1000).every((b) => b === 9)).toBe(true);
    expect(f.bytes.subarray(1000).every((b) => b === 0)).toBe(true);
    expect(Math.max(...f.unsyncedAtWrite)).toBeLessThanOrEqual(ZERO_FILL_STEP);
    expect(f.syncedAt.at(-1)).toBe(size);
  });

  it('leaves a file already big enough alone, and gives a sparse file when asked', async () => {
    const full = new RecordingFile(new Uint8Array(4096).fill(1));
    await preallocate(full, 4096, true);
    expect(full.unsyncedAtWrite).toEqual([]);
    expect(full.bytes.every((b) => b === 1)).toBe(true);

    const sparse = new RecordingFile();
    await preallocate(sparse, 3 * ZERO_FILL_STEP, false);
    expect(sparse.bytes.length).toBe(3 * ZERO_FILL_STEP);
    expect(sparse.unsyncedAtWrite).toEqual([]);
  });
});
