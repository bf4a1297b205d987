import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/raft/types.js';
import { nodeWalFs, Snapshotter, type WalFs } from '../../src/wal/index.js';

let base: string;
let dir: string;

function snap(term: number, index: number, payload = `state@${index}`): Snapshot {
  return {
    metadata: {
      term,
      index,
      confState: { voters: [1n, 2n, 0xffff_ffff_ffff_fff1n], learners: [4n], votersOutgoing: [], learnersNext: [], autoLeave: false },
    },
    data: new TextEncoder().encode(payload),
  };
}

function warnings() {
  const msgs: string[] = [];
  return { msgs, logger: { info() {}, warn: (_o: object, m?: string) => void msgs.push(m ?? '') } };
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'etcd-ts-snap-'));
  dir = join(base, 'member', 'snap');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('Snapshotter', () => {
  it('returns undefined when there is nothing (even no directory)', async () => {
    expect(await new Snapshotter(dir).load()).toBeUndefined();
  });

  it('saves with etcd-style names and loads the newest', async () => {
    const s = new Snapshotter(dir);
    await s.save(snap(1, 10));
    await s.save(snap(2, 30));
    await s.save(snap(2, 20));
    expect((await readdir(dir)).sort()).toEqual([
      '0000000000000001-000000000000000a.snap',
      '0000000000000002-0000000000000014.snap',
      '0000000000000002-000000000000001e.snap',
    ]);
    const got = await s.load();
    expect(got?.metadata.index).toBe(30);
    expect(got?.metadata.term).toBe(2);
    expect(got?.metadata.confState.voters).toEqual([1n, 2n, 0xffff_ffff_ffff_fff1n]);
    expect(got?.metadata.confState.learners).toEqual([4n]);
    expect(new TextDecoder().decode(got!.data)).toBe('state@30');
  });

  it('does not write an empty snapshot', async () => {
    const s = new Snapshotter(dir);
    await s.save(snap(0, 0));
    expect(await s.load()).toBeUndefined();
  });

  it('sets a corrupt newest file aside and falls back to the previous one', async () => {
    const { msgs, logger } = warnings();
    const s = new Snapshotter(dir, logger);
    await s.save(snap(1, 10));
    await s.save(snap(1, 20, 'x'.repeat(1000)));
    const newest = join(dir, '0000000000000001-0000000000000014.snap');
    const fh = await open(newest, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, 500);
    b[0] ^= 1;
    await fh.write(b, 0, 1, 500);
    await fh.close();
    await writeFile(join(dir, '0000000000000001-0000000000000015.snap'), Buffer.from([1, 2]));

    const got = await s.load();
    expect(got?.metadata.index).toBe(10);
    const names = (await readdir(dir)).sort();
    expect(names).toContain('0000000000000001-0000000000000014.snap.broken');
    expect(names).toContain('0000000000000001-0000000000000015.snap.broken');
    expect(msgs.some((m) => m.includes('corrupt'))).toBe(true);
    expect(await s.load()).toEqual(got);
  });

  it('purges all but the newest n', async () => {
    const s = new Snapshotter(dir);
    for (let i = 1; i <= 6; i++) await s.save(snap(1, i * 10));
    await writeFile(join(dir, '0000000000000001-0000000000000064.snap.tmp'), 'half written');
    await s.purge(2);
    // A .tmp may be a save in progress: purge leaves it; start-up (load) clears it.
    expect((await readdir(dir)).sort()).toEqual([
      '0000000000000001-0000000000000032.snap',
      '0000000000000001-000000000000003c.snap',
      '0000000000000001-0000000000000064.snap.tmp',
    ]);
    await s.purge(5);
    expect((await readdir(dir)).length).toBe(3);
    expect((await s.load())?.metadata.index).toBe(60);
    expect((await readdir(dir)).length).toBe(2);
  });

  it('a purge while another save is writing its .tmp leaves that save alone', async () => {
    // The purge runs at the worst moment: after the .tmp is written, before its rename.
    let s: Snapshotter | undefined;
    const fs: WalFs = {
      ...nodeWalFs,
      rename: async (from, to) => {
        if (from.endsWith('.snap.tmp')) await s!.purge(1);
        return nodeWalFs.rename(from, to);
      },
    };
    s = new Snapshotter(dir, undefined, fs);
    await s.save(snap(1, 10));
    await s.save(snap(1, 20));
    expect((await readdir(dir)).sort()).toEqual(['0000000000000001-000000000000000a.snap', '0000000000000001-0000000000000014.snap']);
  });
});
