// The file system as the WAL and the Snapshotter use it: exactly the operations
// they need, so that a test can put a simulated disk (one that loses unsynced
// writes at a power cut) under the real log code. Production uses nodeWalFs,
// which is node:fs with nothing in between on the append path: WalFile.write is
// the callback fs.write on the handle's descriptor (no promise, no allocation).

import { copyFile, mkdir, open, readFile, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { constants as fsConstants, readSync as fsReadSync, write as fsWrite, writeSync as fsWriteSync } from 'node:fs';

/**
 * How a file is opened:
 * - 'create': created, or truncated if it exists; read and write (fopen's w+);
 * - 'update': an existing file, read and write (r+);
 * - 'update-dsync': as 'update', with O_DSYNC: a write returns once its data (and
 *   whatever metadata reading it back needs, such as the size) is on disk;
 * - 'read': an existing file, read only (for readSync).
 */
export type OpenMode = 'create' | 'update' | 'update-dsync' | 'read';

export type WriteCallback = (err: NodeJS.ErrnoException | null, written: number) => void;

export interface WalFile {
  /** One positional write, possibly short (node:fs.write's contract). */
  write(buf: Uint8Array, offset: number, length: number, position: number, cb: WriteCallback): void;
  /**
   * The same write on the calling thread (node:fs.writeSync), returning the bytes
   * written. Optional: a file without it is only ever written through `write`.
   */
  writeSync?(buf: Uint8Array, offset: number, length: number, position: number): number;
  /**
   * One positional read on the calling thread (node:fs.readSync), returning the
   * bytes read (fewer at the end of the file). Optional, as writeSync.
   */
  readSync?(buf: Uint8Array, offset: number, length: number, position: number): number;
  /** fdatasync: the data and the metadata needed to read it (size) are on disk. */
  datasync(): Promise<void>;
  /** fsync. */
  sync(): Promise<void>;
  truncate(size: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface WalFs {
  open(path: string, mode: OpenMode): Promise<WalFile>;
  readFile(path: string): Promise<Buffer>;
  /** Entry names; rejects with code ENOENT when `dir` does not exist. */
  readdir(dir: string): Promise<string[]>;
  /** mkdir -p. Resolves to the first directory it created, undefined if all existed (as fs.mkdir recursive). */
  mkdirAll(dir: string): Promise<string | undefined>;
  /** rename(2): replaces a file, or an empty directory; ENOTEMPTY/EEXIST for a non-empty one. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** rm -rf (nothing there is fine). */
  removeAll(path: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  /** fsync of a directory: makes the creates, renames and unlinks in it durable. */
  syncDir(dir: string): Promise<void>;
}

const OPEN_FLAGS: Record<OpenMode, string | number> = {
  create: 'w+',
  update: 'r+',
  'update-dsync': fsConstants.O_RDWR | fsConstants.O_DSYNC,
  read: 'r',
};

class NodeWalFile implements WalFile {
  constructor(private readonly fh: FileHandle) {}

  write(buf: Uint8Array, offset: number, length: number, position: number, cb: WriteCallback): void {
    fsWrite(this.fh.fd, buf, offset, length, position, cb);
  }

  writeSync(buf: Uint8Array, offset: number, length: number, position: number): number {
    return fsWriteSync(this.fh.fd, buf, offset, length, position);
  }

  readSync(buf: Uint8Array, offset: number, length: number, position: number): number {
    return fsReadSync(this.fh.fd, buf, offset, length, position);
  }

  datasync(): Promise<void> {
    return this.fh.datasync();
  }

  sync(): Promise<void> {
    return this.fh.sync();
  }

  truncate(size: number): Promise<void> {
    return this.fh.truncate(size);
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** The real file system (node:fs). */
export const nodeWalFs: WalFs = {
  open: async (path, mode) => new NodeWalFile(await open(path, OPEN_FLAGS[mode])),
  readFile: (path) => readFile(path),
  readdir: (dir) => readdir(dir),
  mkdirAll: (dir) => mkdir(dir, { recursive: true }),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  removeAll: (path) => rm(path, { recursive: true, force: true }),
  copyFile: (from, to) => copyFile(from, to),
  syncDir: async (dir) => {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
};
