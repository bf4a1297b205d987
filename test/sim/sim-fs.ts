// A simulated file system with the loss rules of a real disk, under the real WAL
// and Snapshotter (src/wal/wal-fs.ts's port). Deterministic: latencies and what a
// crash keeps come from the run's PRNG, completions from the simulated clock.
//
// What is durable, and what a crash keeps:
// - A file's content has a durable image and a list of unsynced changes (writes,
//   truncates) on top; fsync/fdatasync, or a write through an O_DSYNC handle,
//   makes everything so far durable. A directory's entries (create, rename,
//   unlink, mkdir) are durable only once that directory is fsynced.
// - kill -9 ('process'): the page cache survives, so everything the dead process
//   had written stays; of its operations still in flight, a prefix had reached
//   the kernel (their effects stay), the rest never happened.
// - power cut ('power'): every file keeps its durable image plus a prefix of its
//   unsynced changes, cut at 512-byte sectors, and the sector after the prefix
//   may be torn (zeroes, or with `garbage`, random bytes); the directories keep
//   their fsynced entries plus a prefix of the unsynced directory operations
//   (a journal commits them in order).
// - An incarnation's operations end with it: whatever it issues after its crash
//   never completes and changes nothing.
//
// Mutations and syncs complete one after another (FIFO) after a PRNG latency;
// reads (readFile, readdir, size) and open/close answer at once.

import { dirname } from 'node:path';
import type { OpenMode, WalFile, WalFs, WriteCallback } from '../../src/wal/wal-fs.js';
import { DEFAULT_SIM_FS_FAULTS, Dir, Inode, losePageCache, SECTOR, type DirPart, type Node, type SimFsFaults } from './sim-fs-nodes.js';

export { DEFAULT_SIM_FS_FAULTS, SECTOR, type SimFsFaults };

const fsError = (code: string, op: string, path: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${op} '${path}'`), { code, syscall: op, path });

/**
 * What a dead incarnation's operation returns: a promise that never settles. A
 * fresh one each time: whoever awaits it hangs on to it, and it to them, so once
 * the dead incarnation is unreachable both are garbage. One promise shared by the
 * module would collect every awaiting caller, with all it holds, for the life of
 * the process (a long simulation run grew by ~1 MB a seed that way).
 */
const hang = (): Promise<never> => new Promise<never>(() => {});

interface Pending {
  epoch: number;
  /** The operation's effect; `atCrash` when it is applied because it had reached the kernel before a kill. */
  effect(atCrash: boolean): void;
  cancel(): void;
}

export class SimFs {
  private root = new Dir();
  private dirs = new Set<Dir>([this.root]);
  /** Directory operations not yet durable in every directory they touch, oldest first. */
  private dirLog: DirPart[][] = [];
  private inodes = new Set<Inode>();
  private epoch = 0;
  private queue: Pending[] = [];
  private lastDone = 0;
  readonly stats = { ops: 0, crashes: 0, lostChanges: 0, torn: 0, lostDirOps: 0 };

  constructor(
    private readonly sched: { now(): number; after(ms: number, fn: () => void): () => void },
    private readonly rng: () => number,
    readonly faults: SimFsFaults = DEFAULT_SIM_FS_FAULTS,
  ) {}

  /** The file system as the current incarnation sees it. */
  view(): WalFs {
    const epoch = this.epoch;
    const live = (): boolean => epoch === this.epoch;
    const now = <T>(fn: () => T): Promise<T> => {
      if (!live()) return hang();
      try {
        return Promise.resolve(fn());
      } catch (err) {
        return Promise.reject(err as Error);
      }
    };
    const slow = <T>(fn: (atCrash: boolean) => T): Promise<T> =>
      live() ? new Promise<T>((resolve, reject) => this.enqueue(epoch, fn, resolve, reject)) : hang();
    return {
      open: (path, mode) =>
        (mode === 'create' ? slow(() => this.create(path)) : now(() => this.existing(path))).then(
          (inode) => new SimFile(this, epoch, inode, mode),
        ),
      readFile: (path) => now(() => Buffer.from(this.file(path, 'open').data.view())),
      readdir: (dir) => now(() => [...this.dir(dir, 'scandir').entries.keys()].sort()),
      mkdirAll: (dir) => slow(() => this.mkdirAll(dir)),
      rename: (from, to) => slow(() => this.rename(from, to)),
      unlink: (path) =>
        slow(() => {
          const { parent, name } = this.parentOf(path, 'unlink');
          const node = parent.entries.get(name);
          if (!node) throw fsError('ENOENT', 'unlink', path);
          if (node.kind === 'dir') throw fsError('EISDIR', 'unlink', path);
          this.unlinkEntry(parent, name, node);
        }),
      removeAll: (path) =>
        slow(() => {
          const node = this.lookup(path);
          if (!node) return; // rm -f: nothing there is fine
          const { parent, name } = this.parentOf(path, 'rm');
          this.unlinkEntry(parent, name, node);
        }),
      copyFile: (from, to) =>
        slow(() => {
          const src = this.file(from, 'copyfile');
          const dst = this.create(to);
          dst.change({ kind: 'write', pos: 0, bytes: src.data.view().slice() });
        }),
      syncDir: (dir) => slow(() => this.syncDir(this.dir(dir, 'fsync'))),
    };
  }

  /** The process dies ('process': kill -9) or the machine loses power ('power'). */
  crash(kind: 'power' | 'process'): void {
    this.epoch++;
    this.stats.crashes++;
    const inflight = this.queue;
    this.queue = [];
    const reached = Math.floor(this.rng() * (inflight.length + 1));
    for (let i = 0; i < inflight.length; i++) {
      inflight[i]!.cancel();
      if (i < reached) inflight[i]!.effect(true);
    }
    if (kind === 'power') this.powerLoss();
  }

  /** The content a read sees now (for tests). */
  contentOf(path: string): Uint8Array | undefined {
    const node = this.lookup(path);
    return node?.kind === 'file' ? node.data.view().slice() : undefined;
  }

  /** Runs `effect` after a latency, in FIFO order with the other slow operations. */
  enqueue<T>(epoch: number, effect: (atCrash: boolean) => T, resolve: (v: T) => void, reject: (e: unknown) => void): void {
    this.stats.ops++;
    const f = this.faults;
    const at = Math.max(this.lastDone, this.sched.now()) + f.minLatencyMs + this.rng() * (f.maxLatencyMs - f.minLatencyMs);
    this.lastDone = at;
    const item: Pending = { epoch, effect, cancel: () => {} };
    this.queue.push(item);
    item.cancel = this.sched.after(at - this.sched.now(), () => {
      if (this.queue[0] !== item) return; // cancelled by a crash
      this.queue.shift();
      let value: T;
      try {
        value = effect(false);
      } catch (err) {
        reject(err);
        return;
      }
      resolve(value);
    });
  }

  isLive(epoch: number): boolean {
    return epoch === this.epoch;
  }

  /**
   * How much of a write at `pos` goes down in one call. A regular file's write is
   * cut short only where the kernel stops between pages (a signal, ENOSPC), so a
   * short write ends on a sector boundary, never mid-sector.
   */
  shortWriteLength(pos: number, len: number): number {
    const firstBoundary = (Math.floor(pos / SECTOR) + 1) * SECTOR;
    const boundaries = Math.floor((pos + len - 1 - firstBoundary) / SECTOR) + 1;
    if (boundaries <= 0 || this.rng() >= this.faults.shortWrite) return len;
    return firstBoundary + Math.floor(this.rng() * boundaries) * SECTOR - pos;
  }

  private powerLoss(): void {
    for (const inode of this.inodes) losePageCache(inode, this.rng, this.faults, this.stats);
    const ops = this.dirLog;
    this.dirLog = [];
    const kept = Math.floor(this.rng() * (ops.length + 1));
    for (let i = 0; i < kept; i++) for (const part of ops[i]!) part.apply(part.dir.durable);
    this.stats.lostDirOps += ops.length - kept;
    for (const d of this.dirs) d.entries = new Map(d.durable);
    // Files no directory names any more are gone.
    this.inodes = new Set();
    this.dirs = new Set();
    const walk = (d: Dir): void => {
      this.dirs.add(d);
      for (const n of d.entries.values()) {
        if (n.kind === 'dir') walk(n);
        else this.inodes.add(n);
      }
    };
    walk(this.root);
  }


  private syncDir(dir: Dir): void {
    dir.durable = new Map(dir.entries);
    // Parts of logged operations on this directory are now in its durable entries.
    this.dirLog = this.dirLog.map((parts) => parts.filter((p) => p.dir !== dir)).filter((parts) => parts.length > 0);
  }

  private logDirOp(parts: DirPart[]): void {
    this.dirLog.push(parts);
  }

  private link(dir: Dir, name: string, node: Node): void {
    dir.entries.set(name, node);
    this.logDirOp([{ dir, apply: (e) => e.set(name, node) }]);
  }

  private unlinkEntry(dir: Dir, name: string, node: Node): void {
    dir.entries.delete(name);
    this.logDirOp([{ dir, apply: (e) => e.get(name) === node && e.delete(name) }]);
  }

  private lookup(path: string): Node | undefined {
    if (!path.startsWith('/')) throw new Error(`sim fs: paths must be absolute: ${path}`);
    let node: Node = this.root;
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      if (node.kind !== 'dir') return undefined;
      const next = node.entries.get(part);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  private dir(path: string, op: string): Dir {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', op, path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', op, path);
    return node;
  }

  private file(path: string, op: string): Inode {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', op, path);
    if (node.kind !== 'file') throw fsError('EISDIR', op, path);
    return node;
  }

  private parentOf(path: string, op: string): { parent: Dir; name: string } {
    const clean = path.replace(/\/+$/, '');
    const name = clean.slice(clean.lastIndexOf('/') + 1);
    return { parent: this.dir(dirname(clean), op), name };
  }

  private existing(path: string): Inode {
    return this.file(path, 'open');
  }

  private create(path: string): Inode {
    const { parent, name } = this.parentOf(path, 'open');
    const node = parent.entries.get(name);
    if (node?.kind === 'dir') throw fsError('EISDIR', 'open', path);
    if (node) {
      node.change({ kind: 'truncate', size: 0 });
      return node;
    }
    const inode = new Inode();
    this.inodes.add(inode);
    this.link(parent, name, inode);
    return inode;
  }

  private mkdirAll(path: string): string | undefined {
    let first: string | undefined;
    let dir = this.root;
    let at = '';
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      at += `/${part}`;
      const next = dir.entries.get(part);
      if (next?.kind === 'file') throw fsError('ENOTDIR', 'mkdir', path);
      if (next) {
        dir = next;
        continue;
      }
      const made = new Dir();
      this.dirs.add(made);
      this.link(dir, part, made);
      first ??= at;
      dir = made;
    }
    return first;
  }

  private rename(from: string, to: string): void {
    const src = this.parentOf(from, 'rename');
    const dst = this.parentOf(to, 'rename');
    const node = src.parent.entries.get(src.name);
    if (!node) throw fsError('ENOENT', 'rename', from);
    const target = dst.parent.entries.get(dst.name);
    if (target === node) return;
    if (target?.kind === 'dir') {
      if (node.kind !== 'dir') throw fsError('EISDIR', 'rename', to);
      if (target.entries.size > 0) throw fsError('ENOTEMPTY', 'rename', to);
    } else if (target && node.kind === 'dir') throw fsError('ENOTDIR', 'rename', to);
    src.parent.entries.delete(src.name);
    dst.parent.entries.set(dst.name, node);
    const parts: DirPart[] = [
      { dir: src.parent, apply: (e) => e.get(src.name) === node && e.delete(src.name) },
      { dir: dst.parent, apply: (e) => e.set(dst.name, node) },
    ];
    // One directory: one part that does both, in order.
    this.logDirOp(src.parent === dst.parent ? [{ dir: src.parent, apply: (e) => { parts[0]!.apply(e); parts[1]!.apply(e); } }] : parts);
  }
}

/** An open file of one incarnation. */
class SimFile implements WalFile {
  private closed = false;

  constructor(
    private readonly fs: SimFs,
    private readonly epoch: number,
    private readonly inode: Inode,
    private readonly mode: OpenMode,
  ) {}

  write(buf: Uint8Array, offset: number, length: number, position: number, cb: WriteCallback): void {
    if (!this.fs.isLive(this.epoch)) return;
    if (this.closed) {
      queueMicrotask(() => cb(fsError('EBADF', 'write', ''), 0));
      return;
    }
    const n = this.fs.shortWriteLength(position, length);
    const bytes = buf.slice(offset, offset + n);
    this.fs.enqueue(
      this.epoch,
      (atCrash) => {
        // A write cut short by a kill only reached the page cache, even through O_DSYNC.
        this.land(position, bytes, !atCrash);
        return n;
      },
      (written) => cb(null, written),
      (err) => cb(err as NodeJS.ErrnoException, 0),
    );
  }

  /**
   * The write on the calling thread: it has happened (and through an O_DSYNC
   * handle is durable) when it returns, so a crash comes before or after it, never
   * during. A dead incarnation's write throws (its process does not continue).
   */
  writeSync(buf: Uint8Array, offset: number, length: number, position: number): number {
    if (!this.fs.isLive(this.epoch)) throw fsError('EIO', 'write', '');
    if (this.closed) throw fsError('EBADF', 'write', '');
    const n = this.fs.shortWriteLength(position, length);
    this.land(position, buf.slice(offset, offset + n), true);
    return n;
  }

  /** What the file holds now (the page cache's view), as read(2) on this handle would see it. */
  readSync(buf: Uint8Array, offset: number, length: number, position: number): number {
    if (!this.fs.isLive(this.epoch)) throw fsError('EIO', 'read', '');
    if (this.closed) throw fsError('EBADF', 'read', '');
    const data = this.inode.data.view();
    const n = Math.max(0, Math.min(length, data.length - position));
    buf.set(data.subarray(position, position + n), offset);
    return n;
  }

  /** The write reaches the page cache; through an O_DSYNC handle, when it `completed`, the disk too. */
  private land(position: number, bytes: Uint8Array, completed: boolean): void {
    this.inode.change({ kind: 'write', pos: position, bytes });
    if (this.mode === 'update-dsync' && completed) this.inode.sync();
  }

  datasync(): Promise<void> {
    return this.slow(() => this.inode.sync());
  }

  sync(): Promise<void> {
    return this.slow(() => this.inode.sync());
  }

  truncate(size: number): Promise<void> {
    return this.slow(() => this.inode.change({ kind: 'truncate', size }));
  }

  size(): Promise<number> {
    return this.fs.isLive(this.epoch) ? Promise.resolve(this.inode.data.size) : hang();
  }

  close(): Promise<void> {
    if (!this.fs.isLive(this.epoch)) return hang();
    this.closed = true;
    return Promise.resolve();
  }

  private slow(effect: (atCrash: boolean) => void): Promise<void> {
    if (!this.fs.isLive(this.epoch)) return hang();
    if (this.closed) return Promise.reject(fsError('EBADF', 'fsync', ''));
    return new Promise<void>((resolve, reject) => this.fs.enqueue(this.epoch, effect, resolve, reject));
  }
}
