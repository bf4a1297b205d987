// Memory for encodings, carved from shared chunks instead of one buffer each.
//
// A Uint8Array of its own costs a backing-store allocation, its zero fill and the
// GC's bookkeeping of one more external buffer, per encoding. Node's Buffer pool
// avoids that, but hands out memory that is not zeroed and shares its 8 KiB slabs
// with every short-lived Buffer of the process, so one long-lived slice pins a
// slab of other people's garbage. An Arena carves views one after the other from
// chunks of its own; a chunk is freed once every view into it is gone. Chunks are
// ArrayBuffers, zeroed by the engine: no byte handed out is ever uninitialised
// memory, and the results are plain Uint8Arrays (not Buffers, whose slice() does
// not copy).
//
// Two arenas, by lifetime, so that long-lived views do not pin chunks full of
// short-lived ones:
// - logArena: entry encodings. They live as long as the entry stays in the
//   in-memory log (until the next log compaction, up to --snapshot-count entries)
//   and leave it in the order they came, so their chunks empty together.
// - sendArena: messages on their way to a peer, garbage once written.

export class Arena {
  private chunk: ArrayBuffer;
  private used = 0;

  constructor(
    private readonly chunkBytes = 64 * 1024,
    /** Larger requests get a buffer of their own (they would waste much of a chunk's tail). */
    private readonly maxCarved = 4 * 1024,
  ) {
    this.chunk = new ArrayBuffer(chunkBytes);
  }

  /** `n` zeroed bytes (a view into a shared chunk when small). */
  bytes(n: number): Uint8Array {
    if (n > this.maxCarved) return new Uint8Array(n);
    if (this.used + n > this.chunkBytes) {
      this.chunk = new ArrayBuffer(this.chunkBytes);
      this.used = 0;
    }
    const out = new Uint8Array(this.chunk, this.used, n);
    // 8-byte steps keep every view aligned (the word path of crc32c likes that).
    this.used += (n + 7) & ~7;
    return out;
  }
}

export const logArena = new Arena();
export const sendArena = new Arena();
