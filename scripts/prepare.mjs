// npm's `prepare` step: compile the server into dist/ (and build the dashboard
// into dist/ui, scripts/build-ui.mjs) once the dependencies are installed, so `npm install` (or `npm ci`) leaves bin/etcd-ts runnable (goreman,
// the Procfile and the README start it directly).
//
// `npm ci --dry-run` runs this script too, with nothing installed: there is no
// compiler to run then, and nothing to build for, so it says so and succeeds. With
// TypeScript present, a compile error still fails the install.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = `${root}node_modules/typescript/bin/tsc`;
if (!existsSync(tsc)) {
  console.log('prepare: TypeScript is not installed (dry run or production-only install); not building dist/');
  process.exit(0);
}
const run = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.json`], { stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);
const ui = spawnSync(process.execPath, [`${root}scripts/build-ui.mjs`], { stdio: 'inherit' });
process.exit(ui.status ?? 1);
