// Byte format of an MVCC state image (the payload of a Raft snapshot sent to a
// member that fell behind the leader's compacted log). It is a plain copy of
// every LevelDB key/value, so anything another module stages through
// backend.stageRaw travels too, without this file knowing about it.
//
//   header  : magic "ETSMVCC\0" · u32 version · u32 flags(0) · u64 consistentIndex
//             · u64 currentRevision · u64 (compactRevision + 1)          = 40 bytes
//   pair    : u8 0x01 · u32 keyLen · u32 valueLen · key · value            (repeated)
//   trailer : u8 0xFE · u64 pairCount · u32 CRC-32C of every byte before the CRC
//
// All integers big-endian. The summary sits in the header so a receiver can
// log/inspect it early, but it is only trusted once the trailer CRC matches.
// The stream carries no chunk boundaries: a transport may re-chunk freely.

import { crc32c } from '../util/crc32c.js';

export const IMAGE_MAGIC = new TextEncoder().encode('ETSMVCC\0');
export const IMAGE_VERSION = 1;
export const HEADER_LEN = 40;
export const TAG_PAIR = 0x01;
export const TAG_TRAILER = 0xfe;
export const PAIR_HEAD_LEN = 9;
export const TRAILER_LEN = 1 + 8 + 4;
/** A length field above this is treated as corruption, not as a reason to allocate. */
export const MAX_FIELD_LEN = 256 << 20;

export interface ImageSummary {
  consistentIndex: number;
  currentRevision: number;
  /** -1 when nothing was ever compacted, as MvccStore.compactRevision(). */
  compactRevision: number;
}

export class StateImageError extends Error {
  constructor(message: string) {
    super(`mvcc state image: ${message}`);
    this.name = 'StateImageError';
  }
}

const TWO32 = 0x1_0000_0000;

export function putU64(dv: DataView, off: number, n: number): void {
  dv.setUint32(off, Math.floor(n / TWO32));
  dv.setUint32(off + 4, n >>> 0);
}

export function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off) * TWO32 + dv.getUint32(off + 4);
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function encodeHeader(s: ImageSummary): Uint8Array {
  const b = new Uint8Array(HEADER_LEN);
  const dv = view(b);
  b.set(IMAGE_MAGIC, 0);
  dv.setUint32(8, IMAGE_VERSION);
  dv.setUint32(12, 0);
  putU64(dv, 16, s.consistentIndex);
  putU64(dv, 24, s.currentRevision);
  putU64(dv, 32, s.compactRevision + 1);
  return b;
}

export function decodeHeader(b: Uint8Array): ImageSummary {
  for (let i = 0; i < IMAGE_MAGIC.length; i++) {
    if (b[i] !== IMAGE_MAGIC[i]) throw new StateImageError('bad magic (not an etcd-ts MVCC image)');
  }
  const dv = view(b);
  const version = dv.getUint32(8);
  if (version !== IMAGE_VERSION) throw new StateImageError(`unsupported format version ${version} (this build reads ${IMAGE_VERSION})`);
  return { consistentIndex: getU64(dv, 16), currentRevision: getU64(dv, 24), compactRevision: getU64(dv, 32) - 1 };
}

/**
 * Packs the byte stream into chunks of exactly `size` bytes (the last may be
 * shorter), so memory stays bounded whatever the record sizes, and keeps the
 * running CRC of everything written.
 */
export class ChunkWriter {
  private buf: Uint8Array;
  private len = 0;
  private crc = 0;
  private readonly out: Uint8Array[] = [];

  constructor(private readonly size: number) {
    if (!(size >= 64)) throw new RangeError(`chunk size ${size} too small`);
    this.buf = new Uint8Array(size);
  }

  write(data: Uint8Array): void {
    this.crc = crc32c(data, this.crc);
    let o = 0;
    while (o < data.length) {
      const n = Math.min(this.size - this.len, data.length - o);
      this.buf.set(data.subarray(o, o + n), this.len);
      this.len += n;
      o += n;
      if (this.len === this.size) {
        this.out.push(this.buf);
        this.buf = new Uint8Array(this.size);
        this.len = 0;
      }
    }
  }

  writePair(key: Uint8Array, value: Uint8Array): void {
    const h = new Uint8Array(PAIR_HEAD_LEN);
    const dv = view(h);
    h[0] = TAG_PAIR;
    dv.setUint32(1, key.length);
    dv.setUint32(5, value.length);
    this.write(h);
    this.write(key);
    this.write(value);
  }

  /** Appends the trailer (its CRC covers everything before it, trailer head included). */
  writeTrailer(count: number): void {
    const t = new Uint8Array(TRAILER_LEN - 4);
    t[0] = TAG_TRAILER;
    putU64(view(t), 1, count);
    this.write(t);
    const c = new Uint8Array(4);
    view(c).setUint32(0, this.crc);
    this.write(c);
  }

  /** Full chunks produced since the last call. */
  take(): Uint8Array[] {
    return this.out.splice(0);
  }

  /** The partial last chunk, if any. */
  rest(): Uint8Array | undefined {
    if (this.len === 0) return undefined;
    const r = this.buf.subarray(0, this.len);
    this.buf = new Uint8Array(this.size);
    this.len = 0;
    return r;
  }
}

export type ParsedItem =
  | { kind: 'header'; summary: ImageSummary }
  | { kind: 'pair'; key: Uint8Array; value: Uint8Array }
  | { kind: 'end'; count: number };

/**
 * Incremental parser: feed arbitrary chunks, get whole items back. Bytes wait in
 * a list until the next item is complete and are joined once, so a large value
 * spread over many chunks costs one copy, not one per chunk.
 */
export class ImageParser {
  private pending: Uint8Array[] = [];
  private pendingLen = 0;
  private crc = 0;
  private pairs = 0;
  private sawHeader = false;
  private done = false;

  /** Chunks must not be modified after they are pushed (a tail may be kept by reference). */
  push(chunk: Uint8Array): ParsedItem[] {
    if (chunk.length === 0) return [];
    if (this.done) throw new StateImageError('unexpected bytes after the trailer');
    this.pending.push(chunk);
    this.pendingLen += chunk.length;
    if (this.pendingLen < this.needed()) return [];
    // At least one whole item is here: join once and take every whole item.
    const buf = this.join();
    const items: ParsedItem[] = [];
    let o = 0;
    while (!this.done) {
      const n = this.itemLen(buf, o);
      if (n === undefined || buf.length - o < n) break;
      items.push(this.consume(buf.subarray(o, o + n)));
      o += n;
    }
    const rest = buf.subarray(o);
    if (this.done && rest.length > 0) throw new StateImageError('unexpected bytes after the trailer');
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingLen = rest.length;
    return items;
  }

  /** Call when the stream ends: a missing trailer means truncation. */
  finish(): void {
    // A corrupted length field also ends up here (it asks for bytes that never come).
    if (!this.done) throw new StateImageError(`truncated or corrupt: stream ended inside a frame (${this.pendingLen} bytes pending) after ${this.pairs} pairs, without a trailer`);
  }

  // Bytes needed before the next item can be parsed (or at least sized).
  private needed(): number {
    if (!this.sawHeader) return HEADER_LEN;
    if (this.pendingLen === 0) return 1;
    const first = this.pending[0]!;
    const tag = first[0];
    if (tag === TAG_TRAILER) return TRAILER_LEN;
    if (tag !== TAG_PAIR) throw new StateImageError(`corrupt: unknown frame tag 0x${(tag ?? 0).toString(16)} after ${this.pairs} pairs`);
    if (this.pendingLen < PAIR_HEAD_LEN) return PAIR_HEAD_LEN;
    const head = first.length >= PAIR_HEAD_LEN ? first : this.join();
    return this.pairLen(head, 0);
  }

  private itemLen(buf: Uint8Array, o: number): number | undefined {
    if (!this.sawHeader) return HEADER_LEN;
    if (buf.length - o < 1) return undefined;
    const tag = buf[o];
    if (tag === TAG_TRAILER) return TRAILER_LEN;
    if (tag !== TAG_PAIR) throw new StateImageError(`corrupt: unknown frame tag 0x${(tag ?? 0).toString(16)} after ${this.pairs} pairs`);
    if (buf.length - o < PAIR_HEAD_LEN) return undefined;
    return this.pairLen(buf, o);
  }

  private pairLen(buf: Uint8Array, o: number): number {
    const dv = view(buf);
    const kl = dv.getUint32(o + 1), vl = dv.getUint32(o + 5);
    if (kl > MAX_FIELD_LEN || vl > MAX_FIELD_LEN) throw new StateImageError(`corrupt: implausible pair length (key ${kl}, value ${vl}) after ${this.pairs} pairs`);
    return PAIR_HEAD_LEN + kl + vl;
  }

  private consume(item: Uint8Array): ParsedItem {
    if (!this.sawHeader) {
      this.crc = crc32c(item, this.crc);
      this.sawHeader = true;
      return { kind: 'header', summary: decodeHeader(item) };
    }
    if (item[0] === TAG_PAIR) {
      this.crc = crc32c(item, this.crc);
      this.pairs++;
      const kl = view(item).getUint32(1);
      // Copies: the caller's chunk buffers may be reused once we return.
      return { kind: 'pair', key: item.slice(PAIR_HEAD_LEN, PAIR_HEAD_LEN + kl), value: item.slice(PAIR_HEAD_LEN + kl) };
    }
    const dv = view(item);
    this.crc = crc32c(item.subarray(0, TRAILER_LEN - 4), this.crc);
    const want = dv.getUint32(TRAILER_LEN - 4);
    if (want !== this.crc) {
      throw new StateImageError(`checksum mismatch (stored crc32c ${want.toString(16)}, computed ${this.crc.toString(16)}): image corrupted in transit or on disk`);
    }
    const count = getU64(dv, 1);
    if (count !== this.pairs) throw new StateImageError(`trailer counts ${count} pairs but the stream held ${this.pairs}`);
    this.done = true;
    return { kind: 'end', count };
  }

  private join(): Uint8Array {
    if (this.pending.length === 1) return this.pending[0]!;
    const b = new Uint8Array(this.pendingLen);
    let o = 0;
    for (const p of this.pending) { b.set(p, o); o += p.length; }
    this.pending = [b];
    return b;
  }
}
