// An fsync probe: appends 320 B records with O_DSYNC to a preallocated, zero-filled
// 16 MiB file (as the WAL writes its segments), one every millisecond for SECONDS,
// and prints the write latencies' percentiles. Run it beside a benchmark to see
// what the server's own I/O does to another writer's fsyncs (docs/PERFORMANCE.md,
// tenth round):
//
//   node bench/fsync-probe.mjs /tmp/probe-dir 4.5
import fs from 'node:fs';

const [dir, secondsArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node bench/fsync-probe.mjs DIR [SECONDS]');
  process.exit(2);
}
const SIZE = 16 << 20;
const file = `${dir}/fsync-probe.seg`;
fs.mkdirSync(dir, { recursive: true });
const init = fs.openSync(file, 'w');
const zeros = Buffer.alloc(1 << 20);
for (let off = 0; off < SIZE; off += zeros.length) fs.writeSync(init, zeros);
fs.fsyncSync(init);
fs.closeSync(init);

const fh = await fs.promises.open(file, fs.constants.O_RDWR | fs.constants.O_DSYNC);
const record = Buffer.alloc(320, 7);
const lat = [];
const end = performance.now() + Number(secondsArg ?? 5) * 1000;
for (let off = 0; performance.now() < end; off = (off + record.length) % (SIZE - record.length)) {
  const t = performance.now();
  await fh.write(record, 0, record.length, off);
  lat.push(performance.now() - t);
  await new Promise((r) => setTimeout(r, 1));
}
await fh.close();
fs.rmSync(file);
lat.sort((a, b) => a - b);
const p = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(3);
console.log(`fsync probe: ${lat.length} writes, ms p50 ${p(0.5)} p90 ${p(0.9)} p99 ${p(0.99)} p99.9 ${p(0.999)} max ${lat[lat.length - 1].toFixed(2)}`);
