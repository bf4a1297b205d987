// An opt-in trace of where one request's time goes: with ETCDTS_STAGE_TRACE=<dir>
// set, `stage(name)` records performance.now() under a stage name (the put
// path marks: request decoded, proposed, Ready, socket writes, WAL write and its
// return, acks stepped, applied, response, trailers...), and so does every V8 GC
// pause; at exit the member writes <dir>/stage-<pid>.json (names, the time
// origin, and "code,ms;..." pairs). bench/stage-timeline.cjs lines up a leader's
// and its followers' files into one timeline per request (1 client) and counts
// stages per request (any load). Unset (always, in production) each call site
// costs a check of TRACE_ON: stage() returns at once, and call sites that would
// build a name first test TRACE_ON themselves.

import { mkdirSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';

const DIR = process.env.ETCDTS_STAGE_TRACE ?? '';
export const TRACE_ON = DIR !== '';
const CAP = TRACE_ON ? 4_000_000 : 0;
const codes = new Uint8Array(CAP);
const times = new Float64Array(CAP);
const names: string[] = [];
const byName = new Map<string, number>();
let n = 0;

function mark(name: string, t: number): void {
  if (n >= CAP) return;
  let c = byName.get(name);
  if (c === undefined) {
    c = names.length;
    names.push(name);
    byName.set(name, c);
  }
  codes[n] = c;
  times[n++] = t;
}

/** Records that the request in progress reached `name` now (no-op unless tracing). */
export function stage(name: string): void {
  if (TRACE_ON) mark(name, performance.now());
}

if (TRACE_ON) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      mark('gc-start', e.startTime);
      mark('gc-end', e.startTime + e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('exit', () => void writeStageTrace());
}

/** Writes what was recorded to <dir>/stage-<pid>.json (done at exit); the file's path, or undefined when not tracing. */
export function writeStageTrace(): string | undefined {
  if (!TRACE_ON) return undefined;
  mkdirSync(DIR, { recursive: true });
  const ev: string[] = [];
  for (let i = 0; i < n; i++) ev.push(`${codes[i]},${times[i]!.toFixed(3)}`);
  const file = `${DIR}/stage-${process.pid}.json`;
  writeFileSync(file, JSON.stringify({ origin: performance.timeOrigin, names, ev: ev.join(';') }));
  return file;
}
