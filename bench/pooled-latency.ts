// Percentiles of every request of every repetition of a row, pooled, beside the
// table's medians of per-repetition percentiles (bench/run-table.sh, POOLED=1).
//
// Why: a 1-client row's p99 is its 100th-worst request of 10,000; one
// repetition's p99 moves by 10-20% between runs of the same build on a shared
// VM, so the median of two to eight of them decides a 1.0x bar by chance. The
// pooled p99 of N repetitions is the (100 N)th-worst of 10,000 N requests: the
// same quantity, estimated from N times the samples.
//
//   node dist/bench/pooled-latency.js INDEX.jsonl SERVER_A SERVER_B
//
// INDEX.jsonl: one line per run, {"server","label","file"}; each file holds the
// load generator's --latency-log lines ("<start ms> <latency ms>").
import * as fs from 'node:fs';
import { percentile } from './load/histogram.js';

interface Run {
  server: string;
  label: string;
  file: string;
}

/** Every latency (ms) in the files, ascending. */
function pooled(files: string[]): Float64Array {
  const parts: Float64Array[] = [];
  let n = 0;
  for (const f of files) {
    const lines = fs.readFileSync(f, 'utf8').split('\n');
    const v = new Float64Array(lines.length);
    let k = 0;
    for (const line of lines) {
      const sp = line.indexOf(' ');
      if (sp > 0) v[k++] = Number(line.slice(sp + 1));
    }
    parts.push(v.subarray(0, k));
    n += k;
  }
  const all = new Float64Array(n);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return all.sort();
}

/** One line per row both servers ran: its percentiles over every request of every run. */
export function pooledLines(runs: Run[], a: string, b: string): string[] {
  const labels = [...new Set(runs.map((r) => r.label))];
  const [nameA, nameB] = b === 'etcd' ? ['ours', 'etcd'] : [a, b];
  const f = (x: number): string => x.toFixed(2);
  const out: string[] = [];
  for (const label of labels) {
    const files = (s: string): string[] => runs.filter((r) => r.server === s && r.label === label).map((r) => r.file);
    const fa = files(a), fb = files(b);
    if (fa.length === 0 || fb.length === 0) continue;
    const la = pooled(fa), lb = pooled(fb);
    const cols = [50, 90, 99, 99.9].map((p) => {
      const x = percentile(la, p), y = percentile(lb, p);
      return `p${p} ${f(x)} vs ${f(y)} (${(x / y).toFixed(2)}x)`;
    });
    out.push(`pooled: ${label}: ${nameA} vs ${nameB} ms over ${la.length} and ${lb.length} requests (${fa.length} and ${fb.length} runs): ${cols.join(', ')}`);
  }
  return out;
}

function main(): void {
  const [indexFile, a, b] = process.argv.slice(2);
  if (!indexFile || !a || !b) {
    console.error('usage: pooled-latency.js INDEX.jsonl SERVER_A SERVER_B');
    process.exit(2);
  }
  if (!fs.existsSync(indexFile)) return;
  const runs = fs.readFileSync(indexFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Run);
  for (const line of pooledLines(runs, a, b)) console.log(line);
}

if (process.argv[1] && /pooled-latency\.(js|ts)$/.test(process.argv[1])) main();
