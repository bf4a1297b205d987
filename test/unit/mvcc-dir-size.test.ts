import { mkdtemp, rm, writeFile, appendFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirSizer } from '../../src/mvcc/dir-size.js';

describe('DirSizer', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'dirsize-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('sums every file, follows appended logs, new and deleted tables', async () => {
    const s = new DirSizer(dir);
    expect(await s.size()).toBe(0);
    await writeFile(join(dir, '000005.ldb'), Buffer.alloc(1000));
    await writeFile(join(dir, '000006.log'), Buffer.alloc(10));
    await writeFile(join(dir, 'MANIFEST-000002'), Buffer.alloc(5));
    expect(await s.size()).toBe(1015);
    await appendFile(join(dir, '000006.log'), Buffer.alloc(90));
    await appendFile(join(dir, 'MANIFEST-000002'), Buffer.alloc(5));
    expect(await s.size()).toBe(1110);
    await writeFile(join(dir, '000007.sst'), Buffer.alloc(300));
    expect(await s.size()).toBe(1410);
    await unlink(join(dir, '000005.ldb'));
    expect(await s.size()).toBe(410);
  });

  it('remembers a table file by name instead of stat-ing it again (tables never change)', async () => {
    const s = new DirSizer(dir);
    await writeFile(join(dir, '000005.ldb'), Buffer.alloc(1000));
    expect(await s.size()).toBe(1000);
    // Not something LevelDB does; shows the size came from memory.
    await appendFile(join(dir, '000005.ldb'), Buffer.alloc(1));
    expect(await s.size()).toBe(1000);
  });
});
