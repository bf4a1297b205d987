// Summarises a V8 .cpuprofile (node --cpu-prof, or bench/cpu-prof-toggle.cjs):
// self time by function, by file, and by category (gRPC/HTTP2, protobuf, Raft
// core, driver, WAL, LevelDB, MVCC, applier, peer transport, promises, GC,
// idle...). Frames with no script of their own (V8 builtins and natives such as
// Buffer copies, with an empty url) and generic Node helpers (node:buffer,
// node:events, node:internal/util...) are charged to the category of the nearest
// caller that has one, so "protobuf" includes the Buffer writes it calls.
//
//   node dist/bench/profile-summary.js FILE.cpuprofile [--requests N] [--top 30] [--json]
//   node dist/bench/profile-summary.js FILE.cpuprofile --callers writeBuffer [--depth 4]   (who calls it)
//   node dist/bench/profile-summary.js FILE.cpuprofile --inclusive          (self + callees, per function)
// With --requests N, every figure is also given in µs per request.
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number; scriptId?: string }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const GENERIC = [/^node:buffer$/, /^node:events$/, /^node:internal\/util/, /^node:internal\/buffer$/, /^node:internal\/validators$/, /^node:internal\/errors$/];

export function categoryOf(url: string, fn: string): string | undefined {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'program (V8/native, unattributed)';
  if (fn === '(root)') return 'root';
  if (!url || GENERIC.some((r) => r.test(url))) return undefined; // inherit from caller
  if (/@grpc\/grpc-js|@grpc\/proto-loader/.test(url)) return 'gRPC/HTTP2';
  if (/node:internal\/http2|node:http2|\/src\/server\/(h2|grpc)\//.test(url)) return 'gRPC/HTTP2';
  if (/protobufjs|\/src\/pb\/|\/src\/etcdserverpb\/|@protobufjs/.test(url)) return 'protobuf codec';
  if (/\/src\/raft\//.test(url)) return 'Raft core';
  if (/\/src\/server\/raft-node|\/src\/server\/raft-ports/.test(url)) return 'Raft driver (raft-node)';
  if (/\/src\/wal\/|\/src\/util\/crc32c/.test(url)) return 'WAL framing + CRC';
  if (/classic-level|abstract-level|level-transcoder|module-error|maybe-combine-errors|level-supports|napi-macros|node-gyp-build/.test(url)) return 'LevelDB (classic-level)';
  if (/\/src\/mvcc\//.test(url)) return 'MVCC';
  if (/\/src\/server\/apply\//.test(url)) return 'applier';
  if (/\/src\/server\/transport\//.test(url)) return 'peer transport';
  if (/\/src\/server\/api\//.test(url)) return 'API adapters (src/server/api)';
  if (/\/src\/server\//.test(url)) return 'server (proposer, EtcdServer, waiters...)';
  if (/\/src\/lease\/|\/src\/auth\//.test(url)) return 'lease/auth';
  if (/\/src\//.test(url)) return 'other src';
  if (/node:internal\/process\/task_queues|node:internal\/process\/promises|node:internal\/async_hooks|node:async_hooks/.test(url)) return 'promises/microtasks';
  if (/node:internal\/timers|node:timers/.test(url)) return 'timers';
  if (/node:internal\/fs|node:fs/.test(url)) return 'node fs';
  if (/node:net|node:internal\/stream_base_commons|node:internal\/streams|node:stream|node:internal\/net|node:_http|node:http/.test(url)) return 'net/streams (node)';
  if (/node:/.test(url)) return 'other node internals';
  return 'other (' + url.replace(/^.*node_modules\//, '').split('/')[0] + ')';
}

export interface Summary {
  totalMs: number;
  byCategory: [string, number][];
  byFunction: [string, number][];
  byFile: [string, number][];
}

/** Nodes by id, and each node's parent (the profile lists children only). */
function tree(p: Profile): { byId: Map<number, ProfileNode>; parent: Map<number, number> } {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) byId.set(n.id, n);
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  return { byId, parent };
}

/** The duration of sample i (µs): the gap to the next sample (Chrome DevTools' rule). */
function sampleUs(p: Profile, i: number): number {
  return i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1]! : 0;
}

/** "name<sep>file:line", the file relative to dist/ or node_modules/. */
function frameLabel(f: ProfileNode['callFrame'], sep: string): string {
  return `${f.functionName || '(anon)'}${sep}${f.url.replace(/^.*\/(dist|node_modules)\//, '')}:${f.lineNumber + 1}`;
}

/** Self time of frames named `name`, grouped by their `depth` nearest callers. */
export function callersOf(p: Profile, name: string, depth: number): [string, number][] {
  const { byId, parent } = tree(p);
  const out = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const d = sampleUs(p, i);
    const n = byId.get(p.samples[i])!;
    if (n.callFrame.functionName !== name) continue;
    const chain: string[] = [];
    let up = parent.get(n.id);
    while (up !== undefined && chain.length < depth) {
      const f = byId.get(up)!.callFrame;
      chain.push(frameLabel(f, '@'));
      up = parent.get(up);
    }
    const k = chain.join(' < ');
    out.set(k, (out.get(k) ?? 0) + d / 1000);
  }
  return [...out].sort((a, b) => b[1] - a[1]);
}

/** Inclusive (self + callees) time per function, each sample counted once per function. */
export function inclusive(p: Profile): [string, number][] {
  const { byId, parent } = tree(p);
  const out = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const d = sampleUs(p, i);
    const seen = new Set<string>();
    for (let id: number | undefined = p.samples[i]; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      const k = frameLabel(f, ' ');
      if (seen.has(k)) continue;
      seen.add(k);
      out.set(k, (out.get(k) ?? 0) + d / 1000);
    }
  }
  return [...out].sort((a, b) => b[1] - a[1]);
}

export function summarise(p: Profile): Summary {
  const { byId, parent } = tree(p);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const d = sampleUs(p, i);
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + Math.max(0, d));
  }
  const catCache = new Map<number, string>();
  const cat = (id: number): string => {
    const hit = catCache.get(id);
    if (hit) return hit;
    const n = byId.get(id)!;
    let c = categoryOf(n.callFrame.url, n.callFrame.functionName);
    if (c === undefined) {
      const up = parent.get(id);
      c = up === undefined ? 'native/builtin (no caller)' : cat(up);
      if (c === 'root') c = 'native/builtin (no caller)';
    }
    catCache.set(id, c);
    return c;
  };
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const cats = new Map<string, number>(), fns = new Map<string, number>(), files = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const short = f.url.replace(/^file:\/\/.*?\/(dist\/|node_modules\/)/, '$1');
    total += us;
    add(cats, cat(id), us);
    add(fns, `${f.functionName || '(anonymous)'} ${short ? short + ':' + (f.lineNumber + 1) : ''} [${cat(id)}]`, us);
    add(files, short || `(${f.functionName})`, us);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / 1000] as [string, number]);
  return { totalMs: total / 1000, byCategory: sorted(cats), byFunction: sorted(fns), byFile: sorted(files) };
}

function main(argv: string[]): void {
  const file = argv[0];
  if (!file) {
    console.error('usage: profile-summary FILE.cpuprofile [--requests N] [--top N] [--json]');
    process.exit(2);
  }
  const opt = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const requests = Number(opt('--requests') ?? 0);
  const top = Number(opt('--top') ?? 30);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const callers = opt('--callers');
  if (callers) {
    for (const [k, ms] of callersOf(profile, callers, Number(opt('--depth') ?? 4)).slice(0, top)) {
      console.log(`${ms.toFixed(1).padStart(9)} ms ${requests ? (ms * 1000 / requests).toFixed(1).padStart(6) + ' µs/req ' : ''} ${k}`);
    }
    return;
  }
  if (argv.includes('--inclusive')) {
    for (const [k, ms] of inclusive(profile).slice(0, top)) {
      console.log(`${ms.toFixed(1).padStart(9)} ms ${requests ? (ms * 1000 / requests).toFixed(1).padStart(6) + ' µs/req ' : ''} ${k}`);
    }
    return;
  }
  const s = summarise(profile);
  if (argv.includes('--json')) { console.log(JSON.stringify({ file, requests, ...s })); return; }
  const busy = s.totalMs - (s.byCategory.find(([k]) => k === 'idle')?.[1] ?? 0);
  const row = (k: string, ms: number, withBusy = true) =>
    `${ms.toFixed(1).padStart(9)} ms ${(100 * ms / s.totalMs).toFixed(1).padStart(5)}% ` +
    (withBusy ? `${/(^idle$|\(idle\))/.test(k) ? '      ' : (100 * ms / busy).toFixed(1).padStart(5) + '%'} ` : '') +
    (requests ? `${(ms * 1000 / requests).toFixed(1).padStart(7)} µs/req  ` : '') + k;
  console.log(`${file}: ${s.totalMs.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms not idle${requests ? `, ${requests} requests` : ''}`);
  console.log(`\n== by category (self time; % of wall, % of busy${requests ? ', µs/req' : ''})`);
  for (const [k, v] of s.byCategory) console.log(row(k, v));
  console.log(`\n== top ${top} functions (self)`);
  for (const [k, v] of s.byFunction.slice(0, top)) console.log(row(k, v));
  console.log(`\n== top ${top} files (self)`);
  for (const [k, v] of s.byFile.slice(0, top)) console.log(row(k, v));
}

if (process.argv[1] && /profile-summary\.(js|ts)$/.test(process.argv[1])) main(process.argv.slice(2));
