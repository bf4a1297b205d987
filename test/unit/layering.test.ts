// Guards the layering of DESIGN.md: reads the imports of every .ts file under
// src/ (a regex over import/export-from statements, `import type` included),
// resolves the relative ones, and checks
//   (a) no import cycle between modules (files), apart from the known ones below;
//   (b) nothing outside src/server/api imports from src/server/api;
//   (c) src/raft imports nothing outside src/raft (`node:*` only as types, no packages);
//   (d) src/wal, src/mvcc, src/lease, src/auth, src/snapshot never import src/server;
//   (e) src/pb imports nothing from server, mvcc, lease, wal, auth, snapshot;
//   (f) nothing in src/server/api imports src/server/etcd-server.ts or
//       src/server/compose.ts: the adapters see the member through the ports of
//       src/server/api/ports.ts only (type-only imports count too).
// A self-test runs the same checker on a synthetic tree with violations and a
// cycle, so a checker that silently finds nothing fails too.
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Known cycles, each named by the one import that closes it (`from -> to`,
 * paths relative to the repo). The checker drops these edges before looking for
 * cycles; an entry whose edge is gone or no longer closes a cycle fails the test,
 * so delete entries as the fixes land. Never add one without an issue reference.
 */
const KNOWN_CYCLES: { edge: string; why: string }[] = [
  // None today. (Issue #10's raft.ts ↔ step helpers cycle is gone: the helpers see
  // Raft through the interfaces of src/raft/core.ts.)
];

/**
 * Imports from outside src/server/api into it that are allowed: the process
 * entry point mounts the API (someone has to). Nothing else may reach in.
 */
const API_ENTRY_IMPORTS: ReadonlySet<string> = new Set([
  'src/member-command.ts -> src/server/api/grpc-server.ts',
  'src/member-command.ts -> src/server/api/http.ts',
  'src/member-command.ts -> src/server/api/pprof.ts',
  'src/member-command.ts -> src/server/api/v2/routes.ts',
]);

/** The concrete member and its assembly: what API adapters must not import (rule f). */
const CONCRETE_SERVER = ['src/server/etcd-server.ts', 'src/server/compose.ts'];

// ------------------------------------------------------------------ the checker

interface Import {
  /** Resolved repo-relative path for project files; the bare specifier otherwise. */
  target: string;
  /** True when the target is a file of the tree being checked. */
  internal: boolean;
  /** `import type …`, `export type …`, or every named specifier marked `type`. */
  typeOnly: boolean;
}

type Graph = Map<string, Import[]>;

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

// import … from 'x' / export … from 'x' (multi-line braces allowed), import 'x', import('x').
const FROM_RE = /^[ \t]*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]+)['"]/gm;
const BARE_RE = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_RE = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function stripComments(src: string): string {
  // Block comments, then line comments that start a line or follow code after whitespace.
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
}

function allNamedAreTypes(clause: string): boolean {
  const m = /^\{([\s\S]*)\}$/.exec(clause.trim());
  if (!m) return false;
  const names = m[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  return names.length > 0 && names.every((n) => n.startsWith('type '));
}

function resolveSpec(root: string, fromFile: string, spec: string): Import {
  if (!spec.startsWith('.')) return { target: spec, internal: false, typeOnly: false };
  let abs = resolve(dirname(fromFile), spec);
  if (abs.endsWith('.js')) abs = abs.slice(0, -3) + '.ts';
  else if (existsSync(abs) && statSync(abs).isDirectory()) abs = join(abs, 'index.ts');
  else if (!abs.endsWith('.ts')) abs += '.ts';
  return { target: relative(root, abs).split(sep).join('/'), internal: true, typeOnly: false };
}

/** Imports of every .ts file under root/src, keyed by repo-relative path. */
function readGraph(root: string): Graph {
  const graph: Graph = new Map();
  for (const file of listTs(join(root, 'src'))) {
    const src = stripComments(readFileSync(file, 'utf8'));
    const imports: Import[] = [];
    for (const m of src.matchAll(FROM_RE)) {
      const imp = resolveSpec(root, file, m[4]!);
      imp.typeOnly = m[2] !== undefined || allNamedAreTypes(m[3]!);
      imports.push(imp);
    }
    for (const m of src.matchAll(BARE_RE)) imports.push(resolveSpec(root, file, m[1]!));
    for (const m of src.matchAll(DYNAMIC_RE)) imports.push(resolveSpec(root, file, m[1]!));
    graph.set(relative(root, file).split(sep).join('/'), imports);
  }
  return graph;
}

const under = (path: string, dir: string) => path === dir || path.startsWith(dir + '/');

/** Violations of rules (b)–(f), one line each: "rule: from -> to". */
function layerViolations(graph: Graph, apiEntries: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const lower = ['src/wal', 'src/mvcc', 'src/lease', 'src/auth', 'src/snapshot'];
  for (const [from, imports] of graph) {
    for (const imp of imports) {
      const to = imp.target;
      const edge = `${from} -> ${to}${imp.typeOnly ? ' (type)' : ''}`;
      if (imp.internal && under(to, 'src/server/api') && !under(from, 'src/server/api') && !apiEntries.has(`${from} -> ${to}`)) {
        out.push(`(b) only src/server/api may import src/server/api: ${edge}`);
      }
      if (under(from, 'src/raft')) {
        if (imp.internal && !under(to, 'src/raft')) out.push(`(c) src/raft imports outside src/raft: ${edge}`);
        if (!imp.internal && !(to.startsWith('node:') && imp.typeOnly)) {
          out.push(`(c) src/raft imports a package or a node: value: ${edge}`);
        }
      }
      if (imp.internal && under(to, 'src/server') && lower.some((d) => under(from, d))) {
        out.push(`(d) ${from.split('/').slice(0, 2).join('/')} must not import src/server: ${edge}`);
      }
      if (imp.internal && under(from, 'src/pb') && ['src/server', ...lower].some((d) => under(to, d))) {
        out.push(`(e) src/pb must stay below server/mvcc/lease/wal: ${edge}`);
      }
      if (imp.internal && under(from, 'src/server/api') && CONCRETE_SERVER.includes(to)) {
        out.push(`(f) src/server/api must use the ports, not the concrete server: ${edge}`);
      }
    }
  }
  return out;
}

/**
 * Import cycles between files, each as a path "a -> b -> … -> a", one per
 * strongly connected component (type-only imports count: they couple the
 * modules all the same). `ignored` edges ("from -> to") are left out.
 */
function findCycles(graph: Graph, ignored: ReadonlySet<string> = new Set()): string[] {
  const succ = new Map<string, string[]>();
  for (const [from, imports] of graph) {
    succ.set(from, [...new Set(imports.filter((i) => i.internal && graph.has(i.target) && !ignored.has(`${from} -> ${i.target}`)).map((i) => i.target))].sort());
  }
  // Tarjan's strongly connected components (iterative enough for a source tree: recursive).
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sccs: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); onStack.add(v);
    for (const w of succ.get(v)!) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1 || succ.get(v)!.includes(v)) sccs.push(scc.sort());
    }
  };
  for (const v of [...succ.keys()].sort()) if (!idx.has(v)) visit(v);
  // One concrete cycle per component: shortest path from its first node back to it.
  return sccs.map((scc) => {
    const inScc = new Set(scc);
    const start = scc[0]!;
    const prev = new Map<string, string>();
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i]!;
      for (const w of succ.get(v)!) {
        if (!inScc.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let x: string | undefined = v; x !== undefined && x !== start; x = prev.get(x)) path.splice(1, 0, x);
          path.push(start);
          const extra = scc.length > path.length - 1 ? ` (component of ${scc.length} files: ${scc.join(', ')})` : '';
          return path.join(' -> ') + extra;
        }
        if (!prev.has(w) && w !== start) { prev.set(w, v); queue.push(w); }
      }
    }
    return scc.join(' <-> ');
  });
}

/** Everything wrong with a tree: rule violations, unexpected cycles, stale exceptions. */
function checkTree(
  root: string,
  known: readonly { edge: string }[] = [],
  apiEntries: ReadonlySet<string> = new Set(),
): string[] {
  const graph = readGraph(root);
  const problems = layerViolations(graph, apiEntries);
  const ignored = new Set(known.map((k) => k.edge));
  for (const c of findCycles(graph, ignored)) problems.push(`(a) import cycle: ${c}`);
  // A known exception must still be an edge that closes a cycle: putting it back
  // alone into the graph must bring a cycle back.
  const without = findCycles(graph, ignored).length;
  for (const { edge } of known) {
    const [from, to] = edge.split(' -> ');
    const exists = graph.get(from!)?.some((i) => i.target === to) ?? false;
    const closes = exists && findCycles(graph, new Set([...ignored].filter((e) => e !== edge))).length > without;
    if (!closes) problems.push(`stale known cycle (fixed? delete its entry in KNOWN_CYCLES): ${edge}`);
  }
  return problems;
}

// ------------------------------------------------------------------ the tests

describe('layering of src/', () => {
  it('follows the layering rules and has no new import cycles', () => {
    expect(checkTree(REPO, KNOWN_CYCLES, API_ENTRY_IMPORTS)).toEqual([]);
  });

  it('reads a plausible graph (the checker is looking at the real tree)', () => {
    const graph = readGraph(REPO);
    expect(graph.size).toBeGreaterThan(100);
    const applier = [...graph.keys()].find((f) => /^src\/server\/(apply\/)?appl/.test(f));
    expect(applier).toBeDefined();
    expect(graph.get('src/pb/internal.ts')!.map((i) => i.target)).toContain('src/pb/wire.ts');
  });
});

describe('layering checker, on a synthetic tree', () => {
  const files: Record<string, string> = {
    'src/raft/core.ts': [
      "import type { Worker } from 'node:worker_threads';",
      "import { randomInt } from 'node:crypto';", // (c): a node: value
      "import { put } from '../mvcc/store.js';", // (c): outside src/raft
      "export const x: Worker | undefined = undefined; export { randomInt, put };",
    ].join('\n'),
    'src/mvcc/store.ts': [
      '// import { nothing } from "../server/commented-out.js";',
      'import {',
      '  type Handler,',
      '  serve,',
      "} from '../server/api/kv.js';", // (b) and (d), written over several lines
      'export const put = () => serve;',
      'export type { Handler };',
    ].join('\n'),
    'src/server/api/kv.ts': "export const serve = 1; export type Handler = () => void;\n",
    // (f), even as a type-only import; the port file it should use instead is fine.
    'src/server/api/lease.ts': "import type { EtcdServer } from '../etcd-server.js';\nimport type { LeaseApi } from './ports.js';\nexport type S = EtcdServer | LeaseApi;\n",
    'src/server/api/ports.ts': "export interface LeaseApi { renew(): void }\n",
    'src/server/etcd-server.ts': "export class EtcdServer {}\n",
    'src/pb/codec.ts': "export * from '../lease/lessor.js';\n", // (e)
    'src/lease/lessor.ts': "export const lessor = 1;\n",
    // A cycle of three through a type-only import, and an allowed one of two.
    'src/server/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
    'src/server/b.ts': "import { c } from './c/index.js';\nexport const b = c;\n",
    'src/server/c/index.ts': "import type { a } from '../a.js';\nexport const c = 1 as unknown as typeof a;\n",
    'src/server/p.ts': "import { q } from './q.js';\nexport const p = q;\n",
    'src/server/q.ts': "import { p } from './p.js';\nexport const q = () => p;\n",
  };

  function withTree<T>(fn: (root: string) => T): T {
    const root = mkdtempSync(join(tmpdir(), 'etcd-ts-layering-'));
    try {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      }
      return fn(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }

  it('reports every violating import, and nothing else', () => {
    const problems = withTree((root) => layerViolations(readGraph(root)));
    expect(problems.sort()).toEqual([
      '(b) only src/server/api may import src/server/api: src/mvcc/store.ts -> src/server/api/kv.ts',
      '(c) src/raft imports a package or a node: value: src/raft/core.ts -> node:crypto',
      '(c) src/raft imports outside src/raft: src/raft/core.ts -> src/mvcc/store.ts',
      '(d) src/mvcc must not import src/server: src/mvcc/store.ts -> src/server/api/kv.ts',
      '(e) src/pb must stay below server/mvcc/lease/wal: src/pb/codec.ts -> src/lease/lessor.ts',
      '(f) src/server/api must use the ports, not the concrete server: src/server/api/lease.ts -> src/server/etcd-server.ts (type)',
    ]);
  });

  it('reports each cycle with its path, including one closed by a type-only import', () => {
    const cycles = withTree((root) => findCycles(readGraph(root)));
    expect(cycles.sort()).toEqual([
      'src/server/a.ts -> src/server/b.ts -> src/server/c/index.ts -> src/server/a.ts',
      'src/server/p.ts -> src/server/q.ts -> src/server/p.ts',
    ]);
  });

  it('lets a named exception through, and calls it stale once the cycle is gone', () => {
    const known = [{ edge: 'src/server/q.ts -> src/server/p.ts' }];
    const problems = withTree((root) => checkTree(root, known));
    expect(problems.filter((p) => p.startsWith('(a)'))).toEqual([
      '(a) import cycle: src/server/a.ts -> src/server/b.ts -> src/server/c/index.ts -> src/server/a.ts',
    ]);
    expect(problems.some((p) => p.startsWith('stale'))).toBe(false);
    const stale = withTree((root) => {
      writeFileSync(join(root, 'src/server/q.ts'), 'export const q = 1;\n');
      return checkTree(root, known);
    });
    expect(stale).toContain('stale known cycle (fixed? delete its entry in KNOWN_CYCLES): src/server/q.ts -> src/server/p.ts');
  });
});
