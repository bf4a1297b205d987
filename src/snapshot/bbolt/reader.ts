// Reads a bbolt file page by page (never the whole file): opens it the way
// bbolt.Open does (page size from meta 0, both metas validated, the valid one
// with the higher txid wins), walks any bucket's B+tree depth-first (branch and
// leaf pages, overflow pages, nested and inline buckets) and can run the
// integrity check `etcdctl snapshot status` runs first (tx.Check: every page
// below the high-water mark reachable once or free).
//
// Errors carry bbolt's texts ("invalid database", "version mismatch",
// "checksum error", "file size too small"), which etcdctl prints as they are.

import { open, type FileHandle } from 'node:fs/promises';
import {
  BRANCH_PAGE,
  branchElements,
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  FREELIST_PAGE,
  freelistIds,
  LEAF_PAGE,
  leafElements,
  type Meta,
  metaError,
  PageFormatError,
  readBucketHeader,
  readMeta,
  readPageHeader,
} from './layout.js';

/** The page size bbolt assumes when meta 0 is unreadable (the OS page size). */
const OS_PAGE_SIZE = 4096;
/** Pages read at once when walking (bulk-loaded and defragmented files lay trees out in order). */
const READ_AHEAD_PAGES = 64;

export class BboltError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BboltError';
  }
}

/** A bucket: where its tree starts. `inline` holds the page of an inline bucket. */
export interface BucketRef {
  root: number;
  sequence: bigint;
  inline?: Uint8Array;
}

/** One key of a bucket. The byte arrays are the caller's own (copied off the page). */
export interface BboltEntry {
  key: Uint8Array;
  value: Uint8Array;
  /** The key names a nested bucket; `value` is its header (see BboltFile.subBucket). */
  isBucket: boolean;
}

export class BboltFile {
  private block: { first: number; bytes: Uint8Array } | undefined;

  private constructor(
    private readonly fh: FileHandle,
    readonly fileSize: number,
    readonly pageSize: number,
    readonly meta: Meta,
  ) {}

  /** Opens `path` as bbolt.Open(ReadOnly) would; throws BboltError with bbolt's text. */
  static async open(path: string): Promise<BboltFile> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const first = new Uint8Array(OS_PAGE_SIZE);
      const { bytesRead } = await fh.read(first, 0, OS_PAGE_SIZE, 0);
      if (bytesRead < OS_PAGE_SIZE) throw new BboltError('invalid database');
      let pageSize = OS_PAGE_SIZE;
      if (metaError(first) === undefined) pageSize = readMeta(first).pageSize;
      if (pageSize < 1024 || pageSize > 1 << 26 || (pageSize & (pageSize - 1)) !== 0) throw new BboltError('invalid database');
      if (size < pageSize * 2) throw new BboltError('file size too small');
      const metas = new Uint8Array(pageSize * 2);
      await fh.read(metas, 0, pageSize * 2, 0);
      const p0 = metas.subarray(0, pageSize), p1 = metas.subarray(pageSize);
      const err0 = metaError(p0), err1 = metaError(p1);
      if (err0 !== undefined && err1 !== undefined) throw new BboltError(err0);
      const m0 = readMeta(p0), m1 = readMeta(p1);
      // bbolt's db.meta(): the higher txid unless it is invalid.
      let meta: Meta;
      if (m1.txid > m0.txid) meta = err1 === undefined ? m1 : m0;
      else meta = err0 === undefined ? m0 : m1;
      return new BboltFile(fh, size, pageSize, meta);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  close(): Promise<void> {
    this.block = undefined;
    return this.fh.close();
  }

  /** What bbolt's tx.Size() reports: the high-water mark in bytes. */
  get size(): number {
    return this.meta.pgid * this.pageSize;
  }

  /** The root bucket, whose keys are the top-level buckets. */
  get root(): BucketRef {
    return { root: this.meta.rootPgid, sequence: this.meta.rootSequence };
  }

  /** The page (with its overflow pages) `id`. The result may share memory with the read-ahead block. */
  async page(id: number): Promise<Uint8Array> {
    if (id >= this.meta.pgid) throw new BboltError(`page ${id}: out of bounds: ${this.meta.pgid}`);
    const ps = this.pageSize;
    let first = await this.pageBytes(id, 1);
    const h = readPageHeader(first);
    if (h.id !== id) throw new BboltError(`page ${id}: header names page ${h.id} (corrupt file)`);
    if (h.overflow > 0) {
      if (id + h.overflow >= this.meta.pgid) throw new BboltError(`page ${id}: overflow of ${h.overflow} pages runs past the high-water mark ${this.meta.pgid}`);
      first = await this.pageBytes(id, 1 + h.overflow);
    }
    return first.length === ps * (1 + h.overflow) ? first : first.subarray(0, ps * (1 + h.overflow));
  }

  private async pageBytes(id: number, count: number): Promise<Uint8Array> {
    const ps = this.pageSize;
    const b = this.block;
    if (b && id >= b.first && (id + count - b.first) * ps <= b.bytes.length) {
      return b.bytes.subarray((id - b.first) * ps, (id - b.first + count) * ps);
    }
    const want = Math.max(count, Math.min(READ_AHEAD_PAGES, this.meta.pgid - id));
    const bytes = new Uint8Array(want * ps);
    const { bytesRead } = await this.fh.read(bytes, 0, bytes.length, id * ps);
    if (bytesRead < count * ps) {
      throw new BboltError(`page ${id}: file ends at byte ${this.fileSize}, before the page (${this.meta.pgid} pages expected: truncated file)`);
    }
    this.block = { first: id, bytes: bytesRead === bytes.length ? bytes : bytes.subarray(0, Math.floor(bytesRead / ps) * ps) };
    return bytes.subarray(0, count * ps);
  }

  /** The nested bucket an entry with isBucket names. */
  subBucket(entry: BboltEntry): BucketRef {
    const h = readBucketHeader(entry.value);
    return h.root === 0 ? { ...h, inline: entry.value.subarray(BUCKET_HEADER_SIZE) } : h;
  }

  /** A top-level bucket by name, or undefined. */
  async bucket(name: string | Uint8Array): Promise<BucketRef | undefined> {
    const want = typeof name === 'string' ? new TextEncoder().encode(name) : name;
    for await (const e of this.entries(this.root)) {
      const c = Buffer.compare(e.key, want);
      if (c === 0) return e.isBucket ? this.subBucket(e) : undefined;
      if (c > 0) return undefined;
    }
    return undefined;
  }

  /** The last key of a bucket (rightmost descent: one page per level), or undefined when empty. */
  async lastKey(bucket: BucketRef): Promise<Uint8Array | undefined> {
    let page = bucket.root === 0 ? bucket.inline : await this.page(bucket.root);
    if (!page) throw new BboltError('inline bucket without its page');
    for (let depth = 0; depth <= 64; depth++) {
      const h = readPageHeader(page);
      try {
        if (h.flags & LEAF_PAGE) {
          const elems = leafElements(page);
          return elems.length > 0 ? elems[elems.length - 1]!.key.slice() : undefined;
        }
        if (!(h.flags & BRANCH_PAGE) || bucket.root === 0) throw new BboltError(`page ${h.id}: invalid type: ${typeName(h.flags)}`);
        const elems = branchElements(page);
        if (elems.length === 0) return undefined;
        page = await this.page(elems[elems.length - 1]!.child);
      } catch (err) {
        if (err instanceof PageFormatError) throw new BboltError(err.message);
        throw err;
      }
    }
    throw new BboltError('tree deeper than 64 levels (corrupt file)');
  }

  /** Every key of a bucket in key order; nested buckets appear as entries with isBucket. */
  async *entries(bucket: BucketRef): AsyncGenerator<BboltEntry, void, undefined> {
    if (bucket.root === 0) {
      if (!bucket.inline) throw new BboltError('inline bucket without its page');
      yield* copyLeaf(leafElements(bucket.inline));
      return;
    }
    // Depth-first over branch pages: memory is one page per level.
    const stack: { children: number[]; next: number }[] = [{ children: [bucket.root], next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next >= top.children.length) {
        stack.pop();
        continue;
      }
      const id = top.children[top.next++]!;
      const page = await this.page(id);
      const h = readPageHeader(page);
      try {
        if (h.flags & LEAF_PAGE) yield* copyLeaf(leafElements(page));
        else if (h.flags & BRANCH_PAGE) {
          if (stack.length > 64) throw new BboltError(`page ${id}: tree deeper than 64 levels (corrupt file)`);
          stack.push({ children: branchElements(page).map((e) => e.child), next: 0 });
        } else throw new BboltError(`page ${id}: invalid type: ${typeName(h.flags)}`);
      } catch (err) {
        if (err instanceof PageFormatError) throw new BboltError(err.message);
        throw err;
      }
    }
  }

  /**
   * bbolt's tx.Check(): every page below the high-water mark is reachable
   * exactly once (metas, freelist, bucket trees) or listed free. Returns the
   * problems in bbolt's words (empty: the file is sound). One bit per page.
   */
  async check(): Promise<string[]> {
    const errors: string[] = [];
    const n = this.meta.pgid;
    const reachable = new Uint8Array(n);
    const freed = new Uint8Array(n);
    reachable[0] = 1;
    if (n > 1) reachable[1] = 1;
    const fl = this.meta.freelistPgid;
    if (fl !== undefined) {
      const page = await this.page(fl);
      const h = readPageHeader(page);
      if (!(h.flags & FREELIST_PAGE)) errors.push(`page ${fl}: invalid freelist page type: ${typeName(h.flags)}`);
      else {
        for (const id of freelistIds(page)) {
          if (id >= n) errors.push(`page ${id}: freed page out of bounds: ${n}`);
          else if (freed[id]) errors.push(`page ${id}: already freed`);
          else freed[id] = 1;
        }
      }
      for (let i = 0; i <= h.overflow && fl + i < n; i++) reachable[fl + i] = 1;
    }
    await this.checkBucket(this.root, reachable, freed, errors);
    // Without a freelist page (etcd runs bbolt with NoFreelistSync), bbolt
    // rebuilds the freelist as "every page the trees do not reach": nothing can
    // be unreachable and unfreed then.
    if (fl === undefined) return errors;
    for (let i = 0; i < n; i++) if (!reachable[i] && !freed[i]) errors.push(`page ${i}: unreachable unfreed`);
    return errors;
  }

  private async checkBucket(b: BucketRef, reachable: Uint8Array, freed: Uint8Array, errors: string[]): Promise<void> {
    const nested: BucketRef[] = [];
    if (b.root !== 0) {
      const pending = [b.root];
      while (pending.length > 0) {
        const id = pending.pop()!;
        const page = await this.page(id);
        const h = readPageHeader(page);
        for (let i = 0; i <= h.overflow; i++) {
          if (reachable[id + i]) errors.push(`page ${id + i}: multiple references`);
          reachable[id + i] = 1;
        }
        if (freed[id]) errors.push(`page ${id}: reachable freed`);
        if (h.flags & BRANCH_PAGE) {
          for (const e of branchElements(page)) pending.push(e.child);
        } else if (h.flags & LEAF_PAGE) {
          for (const e of leafElements(page)) if (e.flags & BUCKET_LEAF_FLAG) nested.push(this.subBucket({ key: e.key, value: e.value.slice(), isBucket: true }));
        } else errors.push(`page ${id}: invalid type: ${typeName(h.flags)}`);
      }
    }
    // Inline buckets hold no pages of their own, but may hold nested inline buckets only.
    for (const child of nested) await this.checkBucket(child, reachable, freed, errors);
  }
}

function* copyLeaf(elems: ReturnType<typeof leafElements>): Generator<BboltEntry> {
  for (const e of elems) yield { key: e.key.slice(), value: e.value.slice(), isBucket: (e.flags & BUCKET_LEAF_FLAG) !== 0 };
}

function typeName(flags: number): string {
  if (flags & BRANCH_PAGE) return 'branch';
  if (flags & LEAF_PAGE) return 'leaf';
  if (flags & 0x04) return 'meta';
  if (flags & FREELIST_PAGE) return 'freelist';
  return `unknown<${flags.toString(16).padStart(2, '0')}>`;
}

