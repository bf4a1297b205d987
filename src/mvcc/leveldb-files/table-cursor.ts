// Reads one LevelDB table file (table/table.cc layout) in key order through
// ordinary reads (pread), never mmap: the 48-byte footer names the index
// block; the index names each data block (by a key >= every key in it); the
// data blocks lie in order, so they are read through a window of consecutive
// blocks. What the process holds is the window and the current block, whatever
// the table's size; the pages read stay in the kernel's page cache, not in the
// process's memory.

import type { FileHandle } from 'node:fs/promises';
import { BLOCK_TRAILER, blockContents, blockEntries, decodeHandle, type BlockHandle } from './block.js';
import { Cursor, fixed32, userKeyOf } from './coding.js';

const FOOTER = 48;
const MAGIC_LO = 0x8b80fb57, MAGIC_HI = 0xdb477524;
/** Bytes read at once from a table: several data blocks per read. */
export const WINDOW = 128 * 1024;

/** An ordered stream of internal entries (key, value); `key` undefined once done. */
export interface EntryCursor {
  key: Uint8Array | undefined;
  value: Uint8Array;
  /** Moves to the next entry: synchronous within a block, a promise when it reads. */
  next(): void | Promise<void>;
}

async function readExactly(fh: FileHandle, buf: Uint8Array, at: number, where: string): Promise<void> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, at + got);
    if (bytesRead === 0) throw new Error(`leveldb: ${where} ends before offset ${at + buf.length}`);
    got += bytesRead;
  }
}

/** The data block handles of a table whose separator keys are >= `from` (all when undefined). */
async function dataBlocks(fh: FileHandle, size: number, name: string, from: Uint8Array | undefined): Promise<BlockHandle[]> {
  if (size < FOOTER) throw new Error(`leveldb: ${name} is too short to be a table`);
  const footer = new Uint8Array(FOOTER);
  await readExactly(fh, footer, size - FOOTER, name);
  if (fixed32(footer, 40) !== MAGIC_LO || fixed32(footer, 44) !== MAGIC_HI) throw new Error(`leveldb: ${name} is not a table (bad magic number)`);
  const c = new Cursor(footer);
  decodeHandle(c); // the metaindex (filter) block: not needed to read the data
  const index = decodeHandle(c);
  const raw = new Uint8Array(index.size + BLOCK_TRAILER);
  await readExactly(fh, raw, index.offset, name);
  const { keys, values } = blockEntries(blockContents(raw, `${name} index`), `${name} index`);
  const out: BlockHandle[] = [];
  for (let i = 0; i < keys.length; i++) {
    // Every key of block i is <= its separator: a separator below `from` rules the block out.
    if (from !== undefined && out.length === 0 && Buffer.compare(userKeyOf(keys[i]!), from) < 0) continue;
    out.push(decodeHandle(new Cursor(values[i]!)));
  }
  return out;
}

/** A cursor over one table's entries from the first block that may hold `from`. */
export async function openTableCursor(fh: FileHandle, size: number, name: string, from?: Uint8Array): Promise<EntryCursor> {
  const blocks = await dataBlocks(fh, size, name, from);
  // Reused for every read: the current block's entries are views into it, and
  // nothing outlives the block (the scan copies what it hands out).
  let window = new Uint8Array(0);
  let windowAt = 0;
  let windowLen = 0;
  let nextBlock = 0;
  let keys: Uint8Array[] = [];
  let values: Uint8Array[] = [];
  let i = 0;
  const cursor: EntryCursor = {
    key: undefined,
    value: new Uint8Array(0),
    next() {
      if (++i < keys.length) {
        cursor.key = keys[i];
        cursor.value = values[i]!;
        return;
      }
      return load();
    },
  };
  // Reads the next non-empty block (refilling the window when the block is not in it).
  const load = async (): Promise<void> => {
    for (;;) {
      if (nextBlock >= blocks.length) { cursor.key = undefined; keys = values = []; return; }
      const h = blocks[nextBlock++]!;
      const len = h.size + BLOCK_TRAILER;
      if (h.offset < windowAt || h.offset + len > windowAt + windowLen) {
        // From this block to as many following ones as fit; a larger block gets a window of its own.
        let end = h.offset + len;
        for (let j = nextBlock; j < blocks.length; j++) {
          const e = blocks[j]!.offset + blocks[j]!.size + BLOCK_TRAILER;
          if (e - h.offset > WINDOW) break;
          end = e;
        }
        windowLen = end - h.offset;
        if (window.length < windowLen) window = new Uint8Array(Math.max(windowLen, WINDOW));
        windowAt = h.offset;
        await readExactly(fh, window.subarray(0, windowLen), windowAt, name);
      }
      const where = `${name} block at ${h.offset}`;
      ({ keys, values } = blockEntries(blockContents(window.subarray(h.offset - windowAt, h.offset - windowAt + len), where), where));
      i = 0;
      if (keys.length > 0) { cursor.key = keys[0]; cursor.value = values[0]!; return; }
    }
  };
  await load();
  return cursor;
}
