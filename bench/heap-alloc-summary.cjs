#!/usr/bin/env node
// Summary of a sampling heap profile written by bench/cpu-prof-toggle.cjs with
// ETCDTS_PROF_KIND=heap (which keeps collected objects, so the samples add up to the bytes allocated):
// bytes per request in total, by where the allocating code lives (node's
// internals by module, our code and dependencies by directory), by allocating
// function (self), and by the allocating function plus its nearest callers
// (--stack N frames, default 4). Natives with no script (e.g. `Map`, `subarray`)
// are charged to the nearest caller that has one, for the `where` view only.
//   node bench/heap-alloc-summary.cjs heap-123.heapprofile --requests 20000 [--top 30] [--stack 4]
'use strict';
const fs = require('node:fs');
const args = process.argv.slice(2);
const file = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : def; };
const requests = opt('requests', 1);
const top = opt('top', 30);
const depth = opt('stack', 4);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));

const label = (cf) => {
  const url = cf.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  const fn = cf.functionName || '(anonymous)';
  return url ? `${fn} ${url}:${cf.lineNumber + 1}` : fn;
};
const place = (url) => {
  if (url.startsWith('node:internal/')) return url.replace(/^node:internal\/([^/]+).*$/, 'node:$1');
  if (url.startsWith('node:')) return url;
  const m = url.replace(/^file:\/\//, '').match(/\/(dist\/(?:src|bench)\/[^/]+(?:\/[^/.]+(?=\/))?|node_modules\/(?:@[^/]+\/)?[^/]+)/);
  return m ? m[1] : url;
};
const self = new Map();
const stacks = new Map();
const where = new Map();
let total = 0;
const walk = (node, path, placeOf) => {
  const here = [label(node.callFrame), ...path];
  const wherever = node.callFrame.url ? place(node.callFrame.url) : placeOf;
  if (node.selfSize > 0) {
    where.set(wherever ?? '(no script)', (where.get(wherever ?? '(no script)') ?? 0) + node.selfSize);
    total += node.selfSize;
    self.set(here[0], (self.get(here[0]) ?? 0) + node.selfSize);
    const key = here.slice(0, depth).join('\n      <- ');
    stacks.set(key, (stacks.get(key) ?? 0) + node.selfSize);
  }
  for (const c of node.children) walk(c, here, wherever);
};
walk(profile.head, [], undefined);
const perReq = (b) => (b / requests).toFixed(0).padStart(7);
console.log(`allocated: ${(total / 1048576).toFixed(1)} MiB, ${perReq(total).trim()} B/request over ${requests} requests`);
console.log(`\nby where the allocating code lives (B/request, share):`);
for (const [k, v] of [...where].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perReq(v)} ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`);
console.log(`\nby allocating function (B/request, share):`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perReq(v)} ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`);
console.log(`\nby allocation site and ${depth - 1} callers:`);
for (const [k, v] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perReq(v)} ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`);
