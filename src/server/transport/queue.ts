// The outbound queue of one peer: encoded messages in order, bounded both in
// count and in bytes. A push that would cross either bound is refused (the caller
// drops the message and reports the peer unreachable); nothing ever grows without
// limit.

import { frameSize } from './frames.js';

export class BoundedQueue {
  private items: Uint8Array[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /** False (and nothing queued) when the message does not fit. */
  push(encoded: Uint8Array): boolean {
    const size = frameSize(encoded);
    if (this.length >= this.maxMessages || this.bytes + size > this.maxBytes) return false;
    this.items.push(encoded);
    this.bytes += size;
    return true;
  }

  /** Takes messages from the front up to `maxBytes` on the wire (at least one). */
  take(maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let size = 0;
    while (this.head < this.items.length) {
      const m = this.items[this.head]!;
      const s = frameSize(m);
      if (out.length > 0 && size + s > maxBytes) break;
      out.push(m);
      size += s;
      this.head++;
    }
    this.bytes -= size;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Empties the queue; returns how many messages were dropped. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return n;
  }
}
