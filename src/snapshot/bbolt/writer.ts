// Bulk-loads sorted data into a valid bbolt file, page by page, without a
// general B+tree engine: each bucket's keys arrive in order, leaf pages are
// filled and handed out as they fill, and every branch level is built the same
// way above them (one open page per level), so memory is a few pages whatever
// the size. Pages get consecutive ids from 3 on (0 and 1 are the metas, 2 an
// empty freelist, as bbolt's own init lays them out); the caller writes the
// metas last (a file) or first (a stream, after a counting pass: see plan()).
//
// The result is what bbolt itself would accept and `tx.Check()` passes: every
// page below the high-water mark is a meta, the freelist or reachable exactly
// once. A bucket whose keys fit in one leaf of at most pageSize/4 bytes is
// stored inline in its parent, as bbolt does.

import {
  BRANCH_PAGE,
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  dataView,
  ELEMENT_SIZE,
  encodeMetaPage,
  FREELIST_PAGE,
  inlineLimit,
  LEAF_PAGE,
  PAGE_HEADER_SIZE,
  writePageHeader,
} from './layout.js';

/** Where finished pages go, in page-id order (page 2 first); null: only count them (a planning pass). */
export type PageSink = ((pages: Uint8Array) => void) | null;

export interface BboltPlan {
  pageSize: number;
  rootPgid: number;
  freelistPgid: number;
  /** Pages in the file (the high-water mark); the file is pgid × pageSize bytes. */
  pgid: number;
  txid: bigint;
}

/** meta 0 gets this txid, meta 1 one less (bbolt's WriteTo does the same); even, so the next commit writes page 1. */
const TXID = 2n;
export const FREELIST_PGID = 2;
export const FIRST_DATA_PGID = 3;

interface Elem {
  flags: number;
  key: Uint8Array;
  /** Leaf: the value. Branch: unused. */
  value: Uint8Array;
  /** Branch: the child page. */
  child: number;
}

/** Builds one level of one tree: packs elements into nodes and emits each full node. */
class LevelBuilder {
  private elems: Elem[] = [];
  private bytes = PAGE_HEADER_SIZE;
  /** The first node this level finished, held back: if it stays the only one it is the root. */
  held: { key: Uint8Array; pgid: number } | undefined;
  emitted = 0;
  parent: LevelBuilder | undefined;

  constructor(
    readonly branch: boolean,
    private readonly tree: TreeBuilder,
  ) {}

  add(e: Elem): void {
    const size = ELEMENT_SIZE + e.key.length + e.value.length;
    // A node holds at least one element, however large (it then spans overflow pages).
    if (this.elems.length > 0 && this.bytes + size > this.tree.pageSize) this.flush();
    this.elems.push(e);
    this.bytes += size;
  }

  get pendingElems(): Elem[] {
    return this.elems;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  /** Emits the open node, if any. */
  flush(): void {
    if (this.elems.length === 0) return;
    const pgid = this.tree.emitNode(this.branch, this.elems, this.bytes);
    const ref = { key: this.elems[0]!.key, pgid };
    this.elems = [];
    this.bytes = PAGE_HEADER_SIZE;
    this.emitted++;
    if (this.emitted === 1) {
      this.held = ref;
      return;
    }
    const parent = this.ensureParent();
    if (this.held) {
      parent.add({ flags: 0, key: this.held.key, value: EMPTY, child: this.held.pgid });
      this.held = undefined;
    }
    parent.add({ flags: 0, key: ref.key, value: EMPTY, child: ref.pgid });
  }

  private ensureParent(): LevelBuilder {
    this.parent ??= new LevelBuilder(true, this.tree);
    return this.parent;
  }
}

const EMPTY = new Uint8Array(0);

/** Encodes a node (leaf or branch) into page bytes: header, element array, then keys and values. */
export function encodeNode(branch: boolean, elems: Elem[], size: number, pageSize: number, pgid: number): Uint8Array {
  const pages = Math.max(1, Math.ceil(size / pageSize));
  const b = new Uint8Array(pageSize === 0 ? size : pages * pageSize);
  writePageHeader(b, { id: pgid, flags: branch ? BRANCH_PAGE : LEAF_PAGE, count: elems.length, overflow: pageSize === 0 ? 0 : pages - 1 });
  const dv = dataView(b);
  let data = PAGE_HEADER_SIZE + elems.length * ELEMENT_SIZE;
  for (let i = 0; i < elems.length; i++) {
    const e = elems[i]!;
    const at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    if (branch) {
      dv.setUint32(at, data - at, true);
      dv.setUint32(at + 4, e.key.length, true);
      dv.setBigUint64(at + 8, BigInt(e.child), true);
    } else {
      dv.setUint32(at, e.flags, true);
      dv.setUint32(at + 4, data - at, true);
      dv.setUint32(at + 8, e.key.length, true);
      dv.setUint32(at + 12, e.value.length, true);
    }
    b.set(e.key, data);
    data += e.key.length;
    if (!branch) {
      b.set(e.value, data);
      data += e.value.length;
    }
  }
  return b;
}

/** One bucket's tree, fed in key order. */
class TreeBuilder {
  private readonly leaves: LevelBuilder;
  private last: Uint8Array | undefined;

  constructor(private readonly file: BboltBulkWriter) {
    this.leaves = new LevelBuilder(false, this);
  }

  get pageSize(): number {
    return this.file.pageSize;
  }

  emitNode(branch: boolean, elems: Elem[], size: number): number {
    return this.file.emit((pgid) => encodeNode(branch, elems, size, this.pageSize, pgid), Math.max(1, Math.ceil(size / this.pageSize)));
  }

  put(key: Uint8Array, value: Uint8Array, flags = 0): void {
    if (this.last !== undefined && Buffer.compare(this.last, key) >= 0) {
      throw new RangeError(`bbolt bulk load: keys out of order or repeated (${Buffer.from(key).toString('hex')} after ${Buffer.from(this.last).toString('hex')})`);
    }
    if (key.length === 0) throw new RangeError('bbolt bulk load: empty key');
    this.last = key;
    this.leaves.add({ flags, key, value, child: 0 });
  }

  /** Finishes the tree: the value its parent stores for it (bucket header, plus the page when inline). */
  finish(sequence = 0n): Uint8Array {
    const leaf = this.leaves;
    if (leaf.emitted === 0 && leaf.pendingBytes <= inlineLimit(this.pageSize) && leaf.pendingElems.every((e) => !(e.flags & BUCKET_LEAF_FLAG))) {
      const page = encodeNode(false, leaf.pendingElems, leaf.pendingBytes, 0, 0);
      const v = new Uint8Array(BUCKET_HEADER_SIZE + page.length);
      dataView(v).setBigUint64(8, sequence, true);
      v.set(page, BUCKET_HEADER_SIZE);
      return v;
    }
    const root = this.finishLevels();
    const v = new Uint8Array(BUCKET_HEADER_SIZE);
    dataView(v).setBigUint64(0, BigInt(root), true);
    dataView(v).setBigUint64(8, sequence, true);
    return v;
  }

  /** Flushes every level bottom-up; returns the root page id. */
  finishLevels(): number {
    let level: LevelBuilder = this.leaves;
    // An empty tree is one empty leaf.
    if (level.emitted === 0 && level.pendingElems.length === 0) return this.emitNode(false, [], PAGE_HEADER_SIZE);
    for (;;) {
      level.flush();
      if (level.emitted === 1 && !level.parent) return level.held!.pgid;
      level = level.parent!;
    }
  }
}

/**
 * The file writer. Usage: bucket() for each top-level bucket in name order,
 * entries in key order; then finish(). Pages reach `sink` as they are done.
 */
export class BboltBulkWriter {
  private next = FIRST_DATA_PGID;
  private readonly rootTree: TreeBuilder;
  private current: { name: Uint8Array; tree: TreeBuilder } | undefined;

  constructor(
    readonly pageSize: number,
    private readonly sink: PageSink,
  ) {
    if (pageSize < 1024 || (pageSize & (pageSize - 1)) !== 0) throw new RangeError(`page size ${pageSize} is not a power of two ≥ 1024`);
    this.rootTree = new TreeBuilder(this);
    if (sink) {
      const freelist = new Uint8Array(pageSize);
      writePageHeader(freelist, { id: FREELIST_PGID, flags: FREELIST_PAGE, count: 0, overflow: 0 });
      sink(freelist);
    }
  }

  /** Allocates `pages` consecutive ids, encodes with the first and hands the bytes to the sink. */
  emit(encode: (pgid: number) => Uint8Array, pages: number): number {
    const pgid = this.next;
    this.next += pages;
    if (this.sink) this.sink(encode(pgid));
    return pgid;
  }

  /** Starts the next top-level bucket (ends the previous one). */
  bucket(name: Uint8Array): void {
    this.endBucket();
    this.current = { name, tree: new TreeBuilder(this) };
  }

  put(key: Uint8Array, value: Uint8Array): void {
    if (!this.current) throw new Error('bbolt bulk load: put() before bucket()');
    this.current.tree.put(key, value);
  }

  private endBucket(): void {
    if (!this.current) return;
    const value = this.current.tree.finish();
    this.rootTree.put(this.current.name, value, BUCKET_LEAF_FLAG);
    this.current = undefined;
  }

  /** Writes the root bucket's tree; returns what the meta pages must say. */
  finish(): BboltPlan {
    this.endBucket();
    const rootPgid = this.rootTree.finishLevels();
    return { pageSize: this.pageSize, rootPgid, freelistPgid: FREELIST_PGID, pgid: this.next, txid: TXID };
  }
}

/** The two meta pages of a plan (bbolt's WriteTo: meta 0 with the txid, meta 1 with txid − 1). */
export function metaPages(plan: BboltPlan): Uint8Array {
  const m = { rootPgid: plan.rootPgid, rootSequence: 0n, freelistPgid: plan.freelistPgid, pgid: plan.pgid };
  const out = new Uint8Array(plan.pageSize * 2);
  out.set(encodeMetaPage(plan.pageSize, 0, { ...m, txid: plan.txid }), 0);
  out.set(encodeMetaPage(plan.pageSize, 1, { ...m, txid: plan.txid - 1n }), plan.pageSize);
  return out;
}
