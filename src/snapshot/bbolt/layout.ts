// bbolt's on-disk layout (go.etcd.io/bbolt 1.3.x, the version etcd 3.4 and 3.5
// write), as plain functions over bytes. Everything is little-endian (bbolt
// writes its structs in the machine's order, and every platform etcd ships for
// is little-endian).
//
//   page header (16 bytes): id u64 · flags u16 · count u16 · overflow u32
//     a page of `overflow` extra pages spans 1 + overflow contiguous pages
//   meta page body (after the header, 64 bytes):
//     magic u32 0xED0CDAED · version u32 (2) · pageSize u32 · flags u32
//     · root bucket {root pgid u64, sequence u64} · freelist pgid u64
//     · pgid u64 (high-water mark: pages in the file) · txid u64
//     · checksum u64 = FNV-64a of the 56 bytes before it
//   branch element (16 bytes): pos u32 · ksize u32 · child pgid u64
//   leaf element (16 bytes):   flags u32 · pos u32 · ksize u32 · vsize u32
//     pos counts from the element's own first byte; the value follows the key
//   a bucket value (leaf flag 1): {root pgid u64, sequence u64}; root 0 means
//     an inline bucket whose one leaf page follows those 16 bytes
//   freelist page: count page ids (u64); count 0xFFFF means the real count is
//     the first u64 and the ids follow it

export const PAGE_HEADER_SIZE = 16;
export const ELEMENT_SIZE = 16;
export const META_SIZE = 64;
export const META_CHECKSUMMED = 56;
export const BUCKET_HEADER_SIZE = 16;

export const BRANCH_PAGE = 0x01;
export const LEAF_PAGE = 0x02;
export const META_PAGE = 0x04;
export const FREELIST_PAGE = 0x10;
export const BUCKET_LEAF_FLAG = 0x01;

export const MAGIC = 0xed0cdaed;
export const VERSION = 2;
/** meta.freelist when the freelist is not written (NoFreelistSync). */
export const NO_FREELIST = 0xffff_ffff_ffff_ffffn;
/** bbolt inlines a bucket whose whole tree is one leaf below pageSize/4. */
export const inlineLimit = (pageSize: number): number => pageSize / 4;

export interface PageHeader {
  id: number;
  flags: number;
  count: number;
  overflow: number;
}

export interface Meta {
  magic: number;
  version: number;
  pageSize: number;
  flags: number;
  rootPgid: number;
  rootSequence: bigint;
  /** undefined: no freelist page (NO_FREELIST). */
  freelistPgid: number | undefined;
  /** Pages in the file (the high-water mark). */
  pgid: number;
  txid: bigint;
  checksum: bigint;
}

export const dataView = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

function u64(dv: DataView, off: number): number {
  const v = dv.getBigUint64(off, true);
  // Page ids beyond 2^53 cannot address a real file; clamp so checks fail cleanly.
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

export function readPageHeader(b: Uint8Array, off = 0): PageHeader {
  const dv = dataView(b);
  return { id: u64(dv, off), flags: dv.getUint16(off + 8, true), count: dv.getUint16(off + 10, true), overflow: dv.getUint32(off + 12, true) };
}

export function writePageHeader(b: Uint8Array, h: PageHeader, off = 0): void {
  const dv = dataView(b);
  dv.setBigUint64(off, BigInt(h.id), true);
  dv.setUint16(off + 8, h.flags, true);
  dv.setUint16(off + 10, h.count, true);
  dv.setUint32(off + 12, h.overflow, true);
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffff_ffff_ffff_ffffn;

/** FNV-1a, 64 bit (Go's hash/fnv New64a). Only ever run over 56 meta bytes. */
export function fnv64a(b: Uint8Array): bigint {
  let h = FNV_OFFSET;
  for (let i = 0; i < b.length; i++) h = ((h ^ BigInt(b[i]!)) * FNV_PRIME) & MASK64;
  return h;
}

/** Decodes the meta at `off` (the start of a meta page's body). */
export function readMeta(b: Uint8Array, off = PAGE_HEADER_SIZE): Meta {
  const dv = dataView(b);
  const freelist = dv.getBigUint64(off + 32, true);
  return {
    magic: dv.getUint32(off, true),
    version: dv.getUint32(off + 4, true),
    pageSize: dv.getUint32(off + 8, true),
    flags: dv.getUint32(off + 12, true),
    rootPgid: u64(dv, off + 16),
    rootSequence: dv.getBigUint64(off + 24, true),
    freelistPgid: freelist === NO_FREELIST ? undefined : u64(dv, off + 32),
    pgid: u64(dv, off + 40),
    txid: dv.getBigUint64(off + 48, true),
    checksum: dv.getBigUint64(off + 56, true),
  };
}

/** bbolt's meta.validate(): the error text etcd prints, or undefined when valid. */
export function metaError(b: Uint8Array, off = PAGE_HEADER_SIZE): string | undefined {
  const m = readMeta(b, off);
  if (m.magic !== MAGIC) return 'invalid database';
  if (m.version !== VERSION) return 'version mismatch';
  if (m.checksum !== 0n && m.checksum !== fnv64a(b.subarray(off, off + META_CHECKSUMMED))) return 'checksum error';
  return undefined;
}

/** A whole meta page (header + body with its checksum) of `pageSize` bytes. */
export function encodeMetaPage(pageSize: number, pageId: number, m: Omit<Meta, 'magic' | 'version' | 'pageSize' | 'checksum' | 'flags'>): Uint8Array {
  const b = new Uint8Array(pageSize);
  writePageHeader(b, { id: pageId, flags: META_PAGE, count: 0, overflow: 0 });
  const dv = dataView(b);
  const o = PAGE_HEADER_SIZE;
  dv.setUint32(o, MAGIC, true);
  dv.setUint32(o + 4, VERSION, true);
  dv.setUint32(o + 8, pageSize, true);
  dv.setUint32(o + 12, 0, true);
  dv.setBigUint64(o + 16, BigInt(m.rootPgid), true);
  dv.setBigUint64(o + 24, m.rootSequence, true);
  dv.setBigUint64(o + 32, m.freelistPgid === undefined ? NO_FREELIST : BigInt(m.freelistPgid), true);
  dv.setBigUint64(o + 40, BigInt(m.pgid), true);
  dv.setBigUint64(o + 48, m.txid, true);
  dv.setBigUint64(o + 56, fnv64a(b.subarray(o, o + META_CHECKSUMMED)), true);
  return b;
}

/** One element of a leaf page: views into the page's bytes. */
export interface LeafElement {
  flags: number;
  key: Uint8Array;
  value: Uint8Array;
}

/** One element of a branch page. */
export interface BranchElement {
  key: Uint8Array;
  child: number;
}

/** Thrown for bytes that do not form a valid page; `message` says where. */
export class PageFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageFormatError';
  }
}

function elementBounds(page: Uint8Array, h: PageHeader, start: number): void {
  if (start + h.count * ELEMENT_SIZE > page.length) {
    throw new PageFormatError(`page ${h.id}: ${h.count} elements do not fit in ${page.length} bytes`);
  }
}

/** The elements of the leaf page at page[start…] (start > 0 for an inline bucket's page). */
export function leafElements(page: Uint8Array, start = 0): LeafElement[] {
  const h = readPageHeader(page, start);
  const dv = dataView(page);
  const base = start + PAGE_HEADER_SIZE;
  elementBounds(page, h, base);
  const out: LeafElement[] = new Array(h.count);
  for (let i = 0; i < h.count; i++) {
    const e = base + i * ELEMENT_SIZE;
    const flags = dv.getUint32(e, true);
    const k = e + dv.getUint32(e + 4, true);
    const kEnd = k + dv.getUint32(e + 8, true);
    const vEnd = kEnd + dv.getUint32(e + 12, true);
    if (vEnd > page.length) throw new PageFormatError(`page ${h.id}: leaf element ${i} runs past the page (${vEnd} > ${page.length})`);
    out[i] = { flags, key: page.subarray(k, kEnd), value: page.subarray(kEnd, vEnd) };
  }
  return out;
}

export function branchElements(page: Uint8Array): BranchElement[] {
  const h = readPageHeader(page);
  const dv = dataView(page);
  elementBounds(page, h, PAGE_HEADER_SIZE);
  const out: BranchElement[] = new Array(h.count);
  for (let i = 0; i < h.count; i++) {
    const e = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    const k = e + dv.getUint32(e, true);
    const kEnd = k + dv.getUint32(e + 4, true);
    if (kEnd > page.length) throw new PageFormatError(`page ${h.id}: branch element ${i} runs past the page`);
    out[i] = { key: page.subarray(k, kEnd), child: u64(dv, e + 8) };
  }
  return out;
}

/** The page ids a freelist page lists. */
export function freelistIds(page: Uint8Array): number[] {
  const h = readPageHeader(page);
  const dv = dataView(page);
  let idx = 0;
  let count = h.count;
  if (count === 0xffff) {
    count = u64(dv, PAGE_HEADER_SIZE);
    idx = 1;
  }
  if (PAGE_HEADER_SIZE + (idx + count) * 8 > page.length) throw new PageFormatError(`freelist page ${h.id}: ${count} ids do not fit`);
  const ids: number[] = new Array(count);
  for (let i = 0; i < count; i++) ids[i] = u64(dv, PAGE_HEADER_SIZE + (idx + i) * 8);
  return ids;
}

/** A bucket's header as stored in its parent's leaf value. */
export function readBucketHeader(value: Uint8Array): { root: number; sequence: bigint } {
  if (value.length < BUCKET_HEADER_SIZE) throw new PageFormatError(`bucket value of ${value.length} bytes is shorter than a bucket header`);
  const dv = dataView(value);
  return { root: u64(dv, 0), sequence: dv.getBigUint64(8, true) };
}
