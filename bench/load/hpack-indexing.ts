// The raw client's header blocks with HPACK's dynamic table (RFC 7541 §2.3.2,
// §6.2.1), as grpc-go and nghttp2 send them: the first request on a connection
// sends :path, :authority, content-type, te (and a token) as literals with
// incremental indexing, every later one as one-byte indexes into the table the
// server keeps. Without it each request makes the server decode those strings
// again, ~3 KB of garbage per call on ours, which no real client costs it.
// Fields stay in the table for the connection's life: the few a load
// generator sends fit the default 4,096-byte table, and a field that would not
// fit is sent as a literal without indexing, so nothing is ever evicted.

import { encodeRawString, writeInt } from '../../src/server/h2/hpack.js';
import { STATIC_EXACT, STATIC_NAME, STATIC_TABLE } from '../../src/server/h2/hpack-static-table.js';

/** The table size a server allows until its SETTINGS say otherwise (RFC 7540 §6.5.2). */
const DEFAULT_TABLE_SIZE = 4096;
/** RFC 7541 §4.1: an entry's size is its name and value lengths plus 32. */
const ENTRY_OVERHEAD = 32;

export type HeaderFields = readonly (readonly [string, string])[];

export class HpackIndexingEncoder {
  /** "name\0value" → the entry's insertion number (0 for the first inserted). */
  private readonly inserted = new Map<string, number>();
  private insertions = 0;
  private size = 0;
  private readonly cache = new WeakMap<HeaderFields, { insertions: number; block: Buffer }>();

  constructor(private readonly maxSize = DEFAULT_TABLE_SIZE) {}

  /**
   * The block for `fields`, which the caller sends before any later block of this
   * encoder (the table changes as blocks are encoded). Blocks that add nothing
   * are reused while the table stays as it is.
   */
  encode(fields: HeaderFields): Buffer {
    const hit = this.cache.get(fields);
    if (hit && hit.insertions === this.insertions) return hit.block;
    const before = this.insertions;
    const out: number[] = [];
    for (const [name, value] of fields) {
      const key = `${name}\0${value}`;
      const staticIndex = STATIC_EXACT.get(key);
      if (staticIndex !== undefined) {
        out.push(...writeInt(staticIndex, 7, 0x80));
        continue;
      }
      const at = this.inserted.get(key);
      if (at !== undefined) {
        // The newest entry is index 62 (just past the 61 static ones).
        out.push(...writeInt(STATIC_TABLE.length + this.insertions - at, 7, 0x80));
        continue;
      }
      const entrySize = name.length + value.length + ENTRY_OVERHEAD;
      const index = this.size + entrySize <= this.maxSize;
      const nameIndex = STATIC_NAME.get(name) ?? 0;
      // 0x40: literal with incremental indexing (6-bit name index); 0x00: without indexing (4-bit).
      out.push(...(index ? writeInt(nameIndex, 6, 0x40) : writeInt(nameIndex, 4, 0x00)));
      if (nameIndex === 0) out.push(...encodeRawString(Buffer.from(name, 'latin1')));
      out.push(...encodeRawString(Buffer.from(value, 'latin1')));
      if (index) {
        this.inserted.set(key, this.insertions++);
        this.size += entrySize;
      }
    }
    const block = Buffer.from(out);
    // Only a block that added nothing can be sent again as it is.
    if (this.insertions === before) this.cache.set(fields, { insertions: before, block });
    return block;
  }
}
