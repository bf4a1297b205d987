// Builds the web dashboard (ui/) into dist/ui with esbuild: one ES module entry
// (plus lazily loaded chunks, e.g. the YAML parser) and one stylesheet, named by
// content hash under dist/ui/assets/, and dist/ui/index.html naming them. No
// network: everything comes from node_modules. Prints the sizes (raw and gzip).
//
// `node scripts/build-ui.mjs` (npm run build runs it after tsc).

import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'ui');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: ['ui/src/main.tsx'],
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => relative(out, join(root, p)).split('\\').join('/'));
const entry = outputs.find((p) => /^assets\/main-[^/]+\.js$/.test(p));
const css = outputs.filter((p) => p.endsWith('.css'));
if (!entry) throw new Error('build-ui: no main bundle in the output');

const template = readFileSync(join(root, 'ui', 'index.html'), 'utf8');
const html = template
  .replace('<!-- styles -->', css.map((c) => `<link rel="stylesheet" href="${c}">`).join('\n'))
  .replace('<!-- scripts -->', `<script type="module" src="${entry}"></script>`);
writeFileSync(join(out, 'index.html'), html);

let raw = 0;
let gz = 0;
const lines = [];
for (const name of ['index.html', ...outputs]) {
  const body = readFileSync(join(out, name));
  raw += body.length;
  gz += gzipSync(body).length;
  lines.push(`  ${basename(name)}  ${body.length} B (gzip ${gzipSync(body).length} B)`);
}
if (process.env.UI_BUILD_VERBOSE) console.log(lines.join('\n'));
console.log(`build-ui: dist/ui ${outputs.length + 1} files, ${raw} B, gzip ${gz} B`);
