// The simulated file system's nodes (sim-fs.ts): a file's content as a durable
// image plus the unsynced changes on top, what a power cut leaves of them, and a
// directory's current and durable entries.

export const SECTOR = 512;

export interface SimFsFaults {
  minLatencyMs: number;
  maxLatencyMs: number;
  /** Probability that a power cut tears the sector after the kept prefix of a file's unsynced writes. */
  tear: number;
  /** Probability that a torn sector holds random bytes instead of zeroes. */
  garbage: number;
  /** Probability that a write is short (writes only part of its buffer, as write(2) may; cut at a sector boundary). */
  shortWrite: number;
}

export const DEFAULT_SIM_FS_FAULTS: SimFsFaults = { minLatencyMs: 0.2, maxLatencyMs: 2, tear: 0.5, garbage: 0, shortWrite: 0.02 };

/** A growable byte array: a file's content. */
export class Bytes {
  buf = new Uint8Array(0);
  size = 0;

  clone(): Bytes {
    const b = new Bytes();
    b.buf = this.buf.slice(0, this.size);
    b.size = this.size;
    return b;
  }

  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(n, this.buf.length * 2, 4096));
    next.set(this.buf.subarray(0, this.size));
    this.buf = next;
  }

  write(pos: number, bytes: Uint8Array): void {
    this.reserve(pos + bytes.length);
    if (pos > this.size) this.buf.fill(0, this.size, pos);
    this.buf.set(bytes, pos);
    this.size = Math.max(this.size, pos + bytes.length);
  }

  truncate(size: number): void {
    if (size > this.size) {
      this.reserve(size);
      this.buf.fill(0, this.size, size);
    }
    this.size = size;
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.size);
  }
}

export type Change = { kind: 'write'; pos: number; bytes: Uint8Array } | { kind: 'truncate'; size: number };

export class Inode {
  readonly kind = 'file';
  /** What a read sees (the page cache). */
  data = new Bytes();
  /** What is on the platter. */
  durable = new Bytes();
  /** Changes since the last sync, oldest first: data = durable + unsynced. */
  unsynced: Change[] = [];

  change(c: Change): void {
    if (c.kind === 'write') this.data.write(c.pos, c.bytes);
    else this.data.truncate(c.size);
    this.unsynced.push(c);
  }

  sync(): void {
    for (const c of this.unsynced) apply(this.durable, c);
    this.unsynced = [];
  }
}

export function apply(b: Bytes, c: Change): void {
  if (c.kind === 'write') b.write(c.pos, c.bytes);
  else b.truncate(c.size);
}

export class Dir {
  readonly kind = 'dir';
  entries = new Map<string, Node>();
  durable = new Map<string, Node>();
}

export type Node = Inode | Dir;

/** One part of a directory operation: what it does to one directory's durable entries. */
export interface DirPart {
  dir: Dir;
  apply(entries: Map<string, Node>): void;
}

/** A file keeps its durable image plus a sector-granular prefix of its unsynced changes, maybe tearing the next sector. */
export function losePageCache(inode: Inode, rng: () => number, faults: SimFsFaults, stats: { lostChanges: number; torn: number }): void {
  if (inode.unsynced.length === 0) return;
  const units: Change[] = [];
  for (const c of inode.unsynced) {
    if (c.kind === 'truncate') {
      units.push(c);
      continue;
    }
    // Split the write at sector boundaries: each piece reaches the disk whole or not at all.
    for (let p = c.pos; p < c.pos + c.bytes.length; ) {
      const end = Math.min(c.pos + c.bytes.length, (Math.floor(p / SECTOR) + 1) * SECTOR);
      units.push({ kind: 'write', pos: p, bytes: c.bytes.subarray(p - c.pos, end - c.pos) });
      p = end;
    }
  }
  const kept = Math.floor(rng() * (units.length + 1));
  for (let i = 0; i < kept; i++) apply(inode.durable, units[i]!);
  const next = units[kept];
  if (next?.kind === 'write' && rng() < faults.tear) {
    const bytes = new Uint8Array(next.bytes.length);
    if (rng() < faults.garbage) for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rng() * 256);
    inode.durable.write(next.pos, bytes);
    stats.torn++;
  }
  stats.lostChanges += units.length - kept;
  inode.unsynced = [];
  inode.data = inode.durable.clone();
}
