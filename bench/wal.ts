// WAL append throughput: 100-byte entries, each save() one entry plus a hard
// state (as a raft Ready would), with 1 caller (every append pays an fdatasync)
// and with 64 concurrent callers (group commit shares fdatasyncs).
// Run: npx tsc -p . && node dist/bench/wal.js [seconds-per-case]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType, type Entry } from '../src/raft/types.js';
import { crc32c } from '../src/util/crc32c.js';
import { WAL } from '../src/wal/index.js';

const seconds = Number(process.argv[2] ?? 3);
const payload = new Uint8Array(100).fill(0x61);

async function run(callers: number): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'etcd-ts-walbench-'));
  const wal = await WAL.create(join(base, 'wal'), new Uint8Array(16));
  await new Promise((r) => setTimeout(r, Number(process.env.SETTLE_MS ?? 0)));
  let next = 1;
  let commit = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const e: Entry = { term: 1, index: next++, type: EntryType.Normal, data: payload, encoded: undefined };
      await wal.save({ term: 1, vote: 1n, commit: commit++ }, [e]);
    }
  };
  await Promise.all(Array.from({ length: callers }, worker));
  const secs = (performance.now() - t0) / 1000;
  const appends = next - 1;
  console.log(
    `${String(callers).padStart(2)} caller(s): ${Math.round(appends / secs).toLocaleString('en-US')} appends/s, ` +
      `${Math.round(wal.fsyncCount / secs).toLocaleString('en-US')} fdatasync/s, ` +
      `${(appends / wal.fsyncCount).toFixed(1)} appends per fdatasync`,
  );
  await wal.close();
  await rm(base, { recursive: true, force: true });
}

function crcSpeed(): void {
  const buf = new Uint8Array(64 * 1024 * 1024).map((_, i) => i * 7);
  crc32c(buf);
  const t = performance.now();
  crc32c(buf);
  const ms = performance.now() - t;
  console.log(`crc32c: ${Math.round(64 / (ms / 1000))} MiB/s (64 MiB buffer)`);
}

crcSpeed();
await run(1);
await run(64);
