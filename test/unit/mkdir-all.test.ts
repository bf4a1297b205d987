import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirAll } from '../../src/util/mkdir-all.js';

describe('mkdirAll', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mkdir-all-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('makes every missing level with mode 0700, and is a no-op on an existing dir', async () => {
    const deep = join(root, 'a', 'b', 'c');
    // The outermost directory it made: bootstrap fsyncs from its parent down.
    expect(await mkdirAll(deep)).toBe(join(root, 'a'));
    expect((await stat(deep)).isDirectory()).toBe(true);
    expect((await stat(join(root, 'a'))).mode & 0o777).toBe(0o700);
    expect(await mkdirAll(deep)).toBeUndefined();
    expect(await mkdirAll(join(deep, 'd'))).toBe(join(deep, 'd'));
  });

  it('reports a file in the way as Go does', async () => {
    await writeFile(join(root, 'file'), 'x');
    await expect(mkdirAll(join(root, 'file', 'sub'))).rejects.toThrow(`mkdir ${join(root, 'file')}: not a directory`);
  });

  // Node's recursive mkdir never returns here (ENOENT from /proc, retried for ever).
  it.runIf(process.platform === 'linux')('fails at once under /proc with the kernel\'s reason', async () => {
    await expect(mkdirAll('/proc/etcd-ts-nope/member')).rejects.toThrow('mkdir /proc/etcd-ts-nope: no such file or directory');
  });
});
