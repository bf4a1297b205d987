// The size of a LevelDB directory, for the backend quota (read every 100 ms on
// the write path). LevelDB's table files (*.ldb, *.sst) never change once
// written, so their sizes are remembered by name; only new tables and the files
// LevelDB appends to (its log, MANIFEST, LOG) are stat'ed again. At a million
// keys that is a handful of stats per call instead of one per table (~100).

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const IMMUTABLE = /\.(ldb|sst)$/;

export class DirSizer {
  private readonly known = new Map<string, number>();

  constructor(private readonly dir: string) {}

  async size(): Promise<number> {
    const names = await readdir(this.dir);
    const present = new Set(names);
    // Tables LevelDB deleted (merged by its compaction) are forgotten.
    for (const name of this.known.keys()) if (!present.has(name)) this.known.delete(name);
    let total = 0;
    const pending: Promise<void>[] = [];
    for (const name of names) {
      const cached = this.known.get(name);
      if (cached !== undefined) { total += cached; continue; }
      pending.push(stat(join(this.dir, name)).then(
        (st) => {
          total += st.size;
          if (IMMUTABLE.test(name)) this.known.set(name, st.size);
        },
        () => { /* removed between readdir and stat */ },
      ));
    }
    await Promise.all(pending);
    return total;
  }
}
