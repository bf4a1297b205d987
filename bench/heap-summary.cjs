// Summarises a V8 .heapsnapshot: self size and count per (node type, name),
// largest first, and per key when --keys N is given. Reads the file whole, so
// give node enough heap for large snapshots (e.g. --max-old-space-size=4096).
//   node bench/heap-summary.cjs FILE [--keys N] [--top 30]
'use strict';
const fs = require('node:fs');
const args = process.argv.slice(2);
const file = args[0];
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const keys = opt('--keys', 0);
const top = opt('--top', 30);
const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
const meta = snap.snapshot.meta;
const f = meta.node_fields;
const stride = f.length;
const iType = f.indexOf('type'), iName = f.indexOf('name'), iSize = f.indexOf('self_size');
const types = meta.node_types[0];
const nodes = snap.nodes, strings = snap.strings;
const groups = new Map();
let total = 0;
for (let i = 0; i < nodes.length; i += stride) {
  const type = types[nodes[i + iType]];
  let name = strings[nodes[i + iName]];
  // strings and numbers: group by type only (their "name" is the value)
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'bigint') name = '';
  if (name.length > 60) name = name.slice(0, 57) + '...';
  const k = `${type}\t${name}`;
  const size = nodes[i + iSize];
  total += size;
  const g = groups.get(k);
  if (g) { g.size += size; g.count++; } else groups.set(k, { size, count: 1 });
}
const rows = [...groups.entries()].sort((a, b) => b[1].size - a[1].size).slice(0, top);
const mib = (n) => (n / 1048576).toFixed(1);
console.log(`total self size ${mib(total)} MiB${keys ? `, ${(total / keys).toFixed(0)} B/key` : ''}`);
console.log(['MiB', 'count', keys ? 'B/key' : '', 'type', 'name'].join('\t'));
for (const [k, g] of rows) console.log([mib(g.size), g.count, keys ? (g.size / keys).toFixed(1) : '', k].join('\t'));
