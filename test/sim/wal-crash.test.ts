// The real WAL (src/wal) over the simulated file system, crashed at every point
// of an append sequence: after each crash (a power cut or kill -9, at every event
// of the disk's timeline, including during WAL creation, segment cuts and the
// recovery after an earlier crash) the reopened log must hold every entry whose
// save had resolved, plus at most a prefix of the later ones, byte for byte, and
// must open without refusing: everything the model produces is something a disk
// can produce. Then the repaired log must take new appends that survive.

import { describe, expect, it } from 'vitest';
import { EntryType, seededRandom, type Entry } from '../../src/raft/index.js';
import { WAL, type Logger, type WalFs } from '../../src/wal/index.js';
import { SimFs } from './sim-fs.js';
import { drainMicrotasks, Scheduler } from './virtual-time.js';

const DIR = '/data/member/wal';
const SEG = 4096;
const ROUNDS = 24;
const SEEDS = (process.env.WAL_CRASH_SEEDS ?? '1,2,3,4').split(',').map(Number);

/** Counts the torn-tail repairs the WAL reports, to show the crash points reach that path. */
let repairs = 0;
const logger: Logger = {
  info() {},
  warn(_o, msg) {
    if (msg?.includes('torn tail')) repairs++;
  },
};

const dataOf = (index: number): Uint8Array => new Uint8Array((index * 37) % 300).fill(index & 0xff);
const entry = (index: number): Entry => ({ index, term: 1, type: EntryType.Normal, data: dataOf(index), encoded: undefined });

class Disk {
  readonly sched = new Scheduler();
  readonly fs: SimFs;
  events = 0;

  constructor(readonly rng: () => number) {
    this.fs = new SimFs(this.sched, rng, { minLatencyMs: 0.1, maxLatencyMs: 1, tear: 0.5, garbage: 0, shortWrite: 0.05 });
  }

  /** Runs events until `done()` or until `limit` events have fired in total; true if `done()`. */
  async runUntil(done: () => boolean, limit = Infinity): Promise<boolean> {
    await drainMicrotasks();
    while (!done() && this.events < limit) {
      if (!this.sched.fireNext(Infinity)) throw new Error('stuck: nothing scheduled and not done');
      this.events++;
      await drainMicrotasks();
    }
    return done();
  }

  /** Drives `p` to the end, or crashes (`kind`) once `limit` events have fired; undefined when it crashed. */
  async drive<T>(p: Promise<T>, limit: number, kind: 'power' | 'process'): Promise<T | undefined> {
    let settled: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    p.then((value) => (settled = { ok: true, value }), (error: unknown) => (settled = { ok: false, error }));
    if (!(await this.runUntil(() => settled !== undefined, limit))) {
      this.fs.crash(kind);
      return undefined;
    }
    if (!settled!.ok) throw settled!.error;
    return settled!.value;
  }
}

/** What the writer was told: the WAL exists, and every entry up to `acked` is on disk. */
interface Acks {
  created: boolean;
  acked: number;
  issued: number;
}

async function writer(fs: WalFs, rng: () => number, acks: Acks): Promise<true> {
  const wal = await WAL.create(DIR, new Uint8Array([7]), { fs, segmentSizeBytes: SEG });
  acks.created = true;
  // A follower's small writes go inline (WAL.saveNow), a leader's only while it
  // serves one request at a time; a member switches as that changes.
  let inline = rng() < 0.5;
  for (let round = 0; round < ROUNDS; round++) {
    if (rng() < 0.25) inline = !inline;
    if (inline) {
      const first = acks.issued + 1;
      const last = first + Math.floor(rng() * 3);
      const es = Array.from({ length: last - first + 1 }, (_, i) => entry(first + i));
      if (wal.saveNow({ term: 1, vote: 1n, commit: last }, es)) {
        acks.issued = last;
        acks.acked = last;
      }
    }
    // A few concurrent saves: the group commit writes them as one batch.
    const saves: Promise<void>[] = [];
    for (let k = 1 + Math.floor(rng() * 3); k > 0; k--) {
      const first = acks.issued + 1;
      const last = first + Math.floor(rng() * 3);
      acks.issued = last;
      const es = Array.from({ length: last - first + 1 }, (_, i) => entry(first + i));
      saves.push(wal.save({ term: 1, vote: 1n, commit: last }, es).then(() => void (acks.acked = Math.max(acks.acked, last))));
    }
    await Promise.all(saves);
  }
  return true;
}

/** Opens the WAL as a restarting member would and checks it against what was acknowledged. */
function check(opened: Awaited<ReturnType<typeof WAL.open>>, acks: Acks, where: string): number {
  const idx = opened.entries.map((e) => e.index);
  const n = idx.length;
  expect(idx, where).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(n, `${where}: acknowledged entries lost`).toBeGreaterThanOrEqual(acks.acked);
  expect(n, where).toBeLessThanOrEqual(acks.issued);
  for (const e of opened.entries) expect(Buffer.from(e.data).equals(Buffer.from(dataOf(e.index))), `${where}: entry ${e.index} torn`).toBe(true);
  expect(opened.hardState.commit, where).toBeGreaterThanOrEqual(acks.acked);
  expect(opened.hardState.commit, where).toBeLessThanOrEqual(n);
  return n;
}

async function scenario(seed: number, crashAt: number, kind: 'power' | 'process'): Promise<'crashed' | 'finished'> {
  const rng = seededRandom(seed);
  const disk = new Disk(rng);
  const acks: Acks = { created: false, acked: 0, issued: 0 };
  const finished = (await disk.drive(writer(disk.fs.view(), rng, acks), crashAt, kind)) !== undefined;
  if (finished) return 'finished';
  const where = `seed ${seed}, ${kind} crash after event ${crashAt}`;

  // Recovery, itself crashed (a power cut) part of the way through on every other crash point.
  let recovered: Awaited<ReturnType<typeof WAL.open>> | undefined;
  for (let attempt = 0; !recovered; attempt++) {
    const fs = disk.fs.view();
    if (!(await disk.drive(WAL.exists(DIR, fs), Infinity, 'power'))) {
      expect(acks.created, `${where}: the WAL was created, then vanished`).toBe(false);
      return 'crashed';
    }
    const limit = attempt === 0 && crashAt % 2 === 1 ? disk.events + 1 + Math.floor(rng() * 12) : Infinity;
    recovered = await disk.drive(WAL.open(DIR, undefined, { fs, segmentSizeBytes: SEG, logger }), limit, 'power');
    if (recovered) check(recovered, acks, `${where} (recovery attempt ${attempt})`);
  }
  const n = check(recovered, acks, where);

  // The repaired log takes appends, and they survive a power cut.
  await disk.drive(recovered.wal.save({ term: 1, vote: 1n, commit: n + 1 }, [entry(n + 1)]), Infinity, 'power');
  disk.fs.crash('power');
  const again = await disk.drive(WAL.open(DIR, undefined, { fs: disk.fs.view(), segmentSizeBytes: SEG }), Infinity, 'power');
  check(again!, { created: true, acked: n + 1, issued: n + 1 }, `${where}, then one more append`);
  return 'crashed';
}

describe('the real WAL over the simulated file system, crashed at every point of an append sequence', () => {
  for (const kind of ['power', 'process'] as const) {
    it(`${kind === 'power' ? 'power cut' : 'kill -9'}: every acknowledged entry recovered, nothing torn, never refused`, async () => {
      let points = 0;
      repairs = 0;
      for (const seed of SEEDS) {
        for (let crashAt = 0; ; crashAt++) {
          if ((await scenario(seed, crashAt, kind)) === 'finished') break;
          points++;
        }
      }
      // The sequence is long enough to cross several segment cuts.
      expect(points).toBeGreaterThan(200);
      // A power cut mid-write leaves torn records that the real repair cuts off.
      if (kind === 'power') expect(repairs).toBeGreaterThan(0);
      console.log(`${kind}: ${points} crash points, ${repairs} torn tails repaired`);
    }, 120_000);
  }
});
