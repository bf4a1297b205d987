// What one connection writes during a tick, gathered and written to the socket
// once, from process.nextTick: after the microtasks that answered calls in the
// same turn (so their responses share a write), before any I/O. Small batches
// are joined into one buffer; large ones go out corked (one writev).

import type * as net from 'node:net';

/** Batches up to this size are joined into one buffer. */
const JOIN_BELOW_BYTES = 64 * 1024;

export class WriteBatch {
  private out: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly flushBound = (): void => this.flush();

  constructor(
    private readonly socket: net.Socket,
    /** Runs after each flush (written or not): what waited for the bytes to be handed over. */
    private readonly afterFlush: () => void,
  ) {}

  push(bytes: Buffer): void {
    this.out.push(bytes);
    this.bytes += bytes.length;
    this.schedule();
  }

  /** A flush at the end of the tick even with nothing to write (afterFlush runs). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flushBound);
  }

  /** Writes what is gathered now. */
  flush(): void {
    this.scheduled = false;
    const out = this.out;
    const bytes = this.bytes;
    this.out = [];
    this.bytes = 0;
    if (out.length === 1) this.socket.write(out[0]);
    else if (out.length > 1 && bytes < JOIN_BELOW_BYTES) this.socket.write(Buffer.concat(out, bytes));
    else if (out.length > 1) {
      this.socket.cork();
      for (const b of out) this.socket.write(b);
      this.socket.uncork();
    }
    this.afterFlush();
  }

  /** Drops what is gathered (the connection is gone). */
  discard(): void {
    this.out = [];
    this.bytes = 0;
  }
}
