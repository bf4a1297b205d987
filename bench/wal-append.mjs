// WAL append + fsync cost: appends 20,000 entries (100-byte payloads) in saves of
// 20 entries, one save after another (each one write through the O_DSYNC handle),
// and prints wall ms and process CPU ms. For A/B of the WAL's write path:
//   node bench/wal-append.mjs <dist dir of build A>   # then build B, alternating
// Usage: node bench/wal-append.mjs [distDir] [entries] [perSave] [nosync]
// (nosync: --unsafe-no-fsync, leaving only the CPU path of the writes)

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? 'dist');
const total = Number(process.argv[3] ?? 20000);
const perSave = Number(process.argv[4] ?? 20);
const unsafeNoFsync = process.argv[5] === 'nosync';
const { WAL } = await import(pathToFileURL(join(dist, 'wal/index.js')).href);

const dir = await mkdtemp(join(tmpdir(), 'wal-append-'));
try {
  const wal = await WAL.create(join(dir, 'wal'), new Uint8Array([1]), { unsafeNoFsync });
  const data = new Uint8Array(100).fill(7);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let index = 0;
  while (index < total) {
    const entries = [];
    for (let i = 0; i < perSave; i++) entries.push({ index: ++index, term: 1, type: 0, data });
    await wal.save({ term: 1, vote: 1n, commit: index }, entries);
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await wal.close();
  console.log(JSON.stringify({ dist, unsafeNoFsync, entries: total, saves: total / perSave, wallMs: Math.round(wallMs), cpuMs: Math.round((cpu.user + cpu.system) / 1000) }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
