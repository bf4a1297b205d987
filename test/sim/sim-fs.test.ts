// The simulated file system's crash rules (sim-fs.ts): what survives kill -9 and
// a power cut, sector-granular loss and tearing, directory entries durable only
// after the directory is fsynced, and a dead incarnation's operations ignored.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

// The garbage collector, for the test that checks what a dead incarnation leaves behind.
setFlagsFromString('--expose-gc');
import type { WalFs } from '../../src/wal/index.js';
import { writeAll } from '../../src/wal/fsutil.js';
import { SECTOR, SimFs, type SimFsFaults } from './sim-fs.js';
import { drainMicrotasks, Scheduler } from './virtual-time.js';

/** A PRNG whose next values a test scripts (0.5 once the script runs out). */
function scripted(): { rng: () => number; next: (...v: number[]) => void } {
  const queue: number[] = [];
  return { rng: () => (queue.length > 0 ? queue.shift()! : 0.5), next: (...v) => queue.push(...v) };
}

function setup(faults: Partial<SimFsFaults> = {}) {
  const sched = new Scheduler();
  const r = scripted();
  const fs = new SimFs(sched, r.rng, { minLatencyMs: 1, maxLatencyMs: 1, tear: 0, garbage: 0, shortWrite: 0, ...faults });
  /** Runs `p` to completion on simulated time. */
  const run = async <T>(p: Promise<T>): Promise<T> => {
    let done = false;
    // Observed from the start: a rejection while the scheduler runs is the caller's to see.
    const out = p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
    void out.then(() => (done = true));
    for (let i = 0; i < 10_000 && !done; i++) {
      await drainMicrotasks();
      if (!done) sched.fireNext(Infinity);
    }
    const r = await out;
    if (!r.ok) throw r.error;
    return r.value;
  };
  return { sched, fs, rng: r, run };
}

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

/** Creates /d/f durably (entry and empty content) and returns the open file. */
async function durableFile(fs: WalFs, run: <T>(p: Promise<T>) => Promise<T>, dsync = false) {
  await run(fs.mkdirAll('/d'));
  await run(fs.syncDir('/'));
  const created = await run(fs.open('/d/f', 'create'));
  await run(created.sync());
  await run(fs.syncDir('/d'));
  if (!dsync) return created;
  await run(created.close());
  return run(fs.open('/d/f', 'update-dsync'));
}

describe('SimFs', () => {
  it('kill -9 keeps every completed write (the page cache survives); a power cut keeps only what was synced', async () => {
    for (const kind of ['process', 'power'] as const) {
      const { fs, rng, run } = setup();
      const v = fs.view();
      const f = await durableFile(v, run);
      await run(writeAll(f, bytes(100, 1), 0));
      await run(f.datasync());
      await run(writeAll(f, bytes(100, 2), 100));
      rng.next(0, 0, 0); // nothing in flight; keep no unsynced sector; keep no unsynced directory operation
      fs.crash(kind);
      const expected = kind === 'process' ? 200 : 100;
      expect(fs.contentOf('/d/f')?.length).toBe(expected);
      expect(fs.contentOf('/d/f')?.every((b, i) => b === (i < 100 ? 1 : 2))).toBe(true);
    }
  });

  it('a write through an O_DSYNC handle is durable when it completes', async () => {
    const { fs, rng, run } = setup();
    const f = await durableFile(fs.view(), run, true);
    await run(writeAll(f, bytes(700, 7), 0));
    rng.next(0, 0, 0);
    fs.crash('power');
    expect(fs.contentOf('/d/f')).toEqual(bytes(700, 7));
  });

  it('a power cut keeps a sector-granular prefix of the unsynced writes and may tear the next sector (zeroes or garbage)', async () => {
    for (const garbage of [0, 1]) {
      const { fs, rng, run } = setup({ tear: 1, garbage });
      const f = await durableFile(fs.view(), run);
      await run(writeAll(f, bytes(3 * SECTOR - 12, 9), 0)); // three sector pieces
      // in flight: none; keep floor(0.5 * 4) = 2 of the 3 pieces; tear: yes; garbage: yes if asked for
      rng.next(0, 0.5, 0, 0);
      fs.crash('power');
      const got = fs.contentOf('/d/f')!;
      expect(got.length).toBe(3 * SECTOR - 12);
      expect(got.subarray(0, 2 * SECTOR).every((b) => b === 9)).toBe(true);
      const torn = got.subarray(2 * SECTOR);
      if (garbage) expect(torn.some((b) => b !== 0 && b !== 9)).toBe(true);
      else expect(torn.every((b) => b === 0)).toBe(true);
    }
  });

  it('a new file, a rename and an unlink are durable only once their directory is fsynced', async () => {
    const { fs, rng, run } = setup();
    const v = fs.view();
    await run(v.mkdirAll('/d'));
    await run(v.syncDir('/'));
    for (const name of ['a', 'b']) {
      const f = await run(v.open(`/d/${name}`, 'create'));
      await run(writeAll(f, bytes(10, 1), 0));
      await run(f.sync());
      await run(f.close());
    }
    await run(v.syncDir('/d'));
    await run(v.rename('/d/a', '/d/a2'));
    await run(v.unlink('/d/b'));
    const c = await run(v.open('/d/c', 'create'));
    await run(c.sync());
    rng.next(0, 0); // nothing in flight; no unsynced directory operation survives
    fs.crash('power');
    expect(await fs.view().readdir('/d')).toEqual(['a', 'b']);

    const v2 = fs.view();
    await run(v2.rename('/d/a', '/d/a2'));
    await run(v2.syncDir('/d'));
    rng.next(0, 0);
    fs.crash('power');
    expect(await fs.view().readdir('/d')).toEqual(['a2', 'b']);
  });

  it('a directory whose parent was never fsynced can vanish with everything in it, however well its files were synced', async () => {
    const { fs, rng, run } = setup();
    const v = fs.view();
    await run(v.mkdirAll('/data/member/wal'));
    const f = await run(v.open('/data/member/wal/x', 'create'));
    await run(writeAll(f, bytes(10, 1), 0));
    await run(f.sync());
    await run(v.syncDir('/data/member/wal'));
    await run(v.syncDir('/data/member'));
    rng.next(0, 0);
    fs.crash('power');
    expect(fs.contentOf('/data/member/wal/x')).toBeUndefined();
    await expect(fs.view().readdir('/data')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('of the operations in flight at kill -9, a prefix had reached the kernel; the old incarnation is ignored afterwards', async () => {
    const { fs, rng, sched, run } = setup();
    const v = fs.view();
    const f = await durableFile(v, run);
    let completed = 0;
    f.write(bytes(10, 1), 0, 10, 0, () => completed++);
    f.write(bytes(10, 2), 0, 10, 10, () => completed++);
    f.write(bytes(10, 3), 0, 10, 20, () => completed++);
    rng.next(0.5); // of the 3 writes in flight, floor(0.5 * 4) = 2 had reached the kernel
    fs.crash('process');
    expect(fs.contentOf('/d/f')?.length).toBe(20);
    // Whatever the dead incarnation does now changes nothing and never completes.
    let late = false;
    f.write(bytes(10, 4), 0, 10, 0, () => (late = true));
    void v.unlink('/d/f').then(() => (late = true));
    void v.open('/d/g', 'create').then(() => (late = true));
    while (sched.fireNext(Infinity)) await drainMicrotasks();
    await drainMicrotasks();
    expect(completed).toBe(0);
    expect(late).toBe(false);
    expect(await fs.view().readdir('/d')).toEqual(['f']);
    expect(fs.contentOf('/d/f')?.subarray(0, 10)).toEqual(bytes(10, 1));
  });

  it('a caller left hanging by a dead incarnation becomes garbage with it', async () => {
    // A long simulation crashes members by the thousand; what their last calls hold
    // must not outlive them (a promise shared by the module once kept them all).
    const gc = runInNewContext('gc') as () => void;
    const { fs } = setup();
    const v = fs.view();
    fs.crash('process');
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 3; i++) {
      const held = { state: new Uint8Array(1 << 16) };
      refs.push(new WeakRef(held));
      void (async () => {
        await v.readdir('/');
        return held.state.length; // held stays in the frame that waits
      })();
    }
    // (No deref() before the collections: it keeps its target alive to the end of the job.)
    for (let i = 0; i < 3; i++) {
      await drainMicrotasks();
      gc();
    }
    await drainMicrotasks();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
  });

  it('operations complete in order, each after its latency', async () => {
    const { fs, sched, run } = setup({ minLatencyMs: 3, maxLatencyMs: 3 });
    const v = fs.view();
    await run(v.mkdirAll('/d'));
    const t0 = sched.now();
    const order: string[] = [];
    const a = v.open('/d/a', 'create').then(() => order.push(`a@${sched.now() - t0}`));
    const b = v.syncDir('/d').then(() => order.push(`b@${sched.now() - t0}`));
    await run(Promise.all([a, b]));
    expect(order).toEqual(['a@3', 'b@6']);
  });

  it('answers with the errors the WAL expects (ENOENT, ENOTEMPTY)', async () => {
    const { fs, run } = setup();
    const v = fs.view();
    await expect(v.readdir('/nope')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(run(v.open('/nope/f', 'create'))).rejects.toMatchObject({ code: 'ENOENT' });
    await run(v.mkdirAll('/x/y'));
    await run(v.mkdirAll('/z'));
    await expect(run(v.rename('/z', '/x'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    expect(await run(v.mkdirAll('/x/y'))).toBeUndefined();
    expect(await run(v.mkdirAll('/x/y/w/v'))).toBe('/x/y/w');
  });
});
