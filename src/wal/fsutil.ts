// Small filesystem helpers where durability depends on getting the order right.

import { write } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Makes a create/rename/unlink in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes all of `buf` at `position` (a write may be short; loop until it is all
 * down). Goes through the callback API on the handle's descriptor: on the WAL's
 * commit path this measured about a fifth less CPU and latency per write than
 * FileHandle.write, whose promise plumbing costs more than the small write itself.
 */
export function writeAll(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const step = (done: number): void => {
      if (done >= buf.length) {
        resolve();
        return;
      }
      write(fh.fd, buf, done, buf.length - done, position + done, (err, n) => {
        if (err) reject(err);
        else step(done + n);
      });
    };
    step(0);
  });
}

const ZEROS = Buffer.alloc(1024 * 1024);

/**
 * Reserves `size` bytes for a segment. Node has no fallocate, and a sparse file
 * (ftruncate) still makes every fdatasync commit block allocation; writing real
 * zeros up front measured about twice the fdatasync rate for small appends on
 * ext4. Zero-filling costs ~0.1 s per 64 MB, so it is only done off the write
 * path (new WAL, next segment prepared in the background); `zeroFill = false`
 * gives a sparse file.
 */
export async function preallocate(fh: FileHandle, size: number, zeroFill: boolean): Promise<void> {
  const { size: cur } = await fh.stat();
  if (cur >= size) return;
  if (!zeroFill) {
    await fh.truncate(size);
    return;
  }
  for (let off = cur; off < size; off += ZEROS.length) {
    await writeAll(fh, ZEROS.subarray(0, Math.min(ZEROS.length, size - off)), off);
  }
  await fh.sync();
}
