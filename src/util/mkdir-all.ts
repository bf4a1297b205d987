// Go's os.MkdirAll, one level at a time. Node's `mkdir(p, { recursive: true })`
// never returns when a parent refuses new entries without saying EACCES (mkdir
// under /proc answers ENOENT, which Node's recursion takes as "make the parent
// first", for ever); here each missing level is made once and the first refusal
// is reported as Go words it ("mkdir /proc/nope: no such file or directory").

import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export class MkdirError extends Error {}

/** "ENOENT: no such file or directory, mkdir '/x'" → "no such file or directory". */
function reason(err: NodeJS.ErrnoException): string {
  const m = /^[A-Z]+: ([^,]+),/.exec(err.message);
  return m ? m[1]! : err.message;
}

/** Returns the first (outermost) directory it created, or undefined when the path existed. */
export async function mkdirAll(path: string, mode = 0o700): Promise<string | undefined> {
  const missing: string[] = [];
  for (let p = resolve(path); ; ) {
    const st = await stat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw new MkdirError(`stat ${p}: ${reason(err)}`);
    });
    if (st) {
      if (!st.isDirectory()) throw new MkdirError(`mkdir ${p}: not a directory`);
      break;
    }
    missing.unshift(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const dir of missing) {
    await mkdir(dir, { mode }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw new MkdirError(`mkdir ${dir}: ${reason(err)}`);
    });
  }
  return missing[0];
}
