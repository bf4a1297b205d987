// Preloaded into an etcd-ts member (ETCDTS_NODE_OPTS="--require .../loop-trace.cjs")
// to find what a latency tail waits on: it records, with wall-clock times
// (ms since the Unix epoch), every V8 GC pause (kind and duration, from a
// PerformanceObserver) and every event-loop stall, i.e. a turn of a
// STALL_TICK_MS timer that ran more than ETCDTS_STALL_MS (default 5) late,
// which is the time the JS thread spent on something else (a long task, a GC
// pause, or the kernel not scheduling it: cpuMs and waitMs, from the thread's
// schedstat, tell which). At exit it writes
// $ETCDTS_TRACE_DIR/loop-<pid>.jsonl: one {"t":start,"ms":duration,"what":…}
// per line. The timer wakes the thread STALL_TICK_MS apart and reads one
// /proc file each turn: ~10-20 µs, about 1% of a core.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { PerformanceObserver, performance, constants } = require('node:perf_hooks');

const STALL_TICK_MS = 2;
const STALL_MS = Number(process.env.ETCDTS_STALL_MS || 5);
const origin = performance.timeOrigin;
const out = [];

const GC_KIND = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental-mark',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    out.push({ t: origin + e.startTime, ms: e.duration, what: GC_KIND[e.detail?.kind] ?? `gc-${e.detail?.kind}` });
  }
}).observe({ entryTypes: ['gc'] });

// The main thread's scheduler statistics (ns on a CPU, ns runnable but waiting
// for one): a stall with little CPU and much waiting is the kernel's (other
// processes had the cores), one with CPU is a long task of this thread.
const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;
function schedstat() {
  try {
    const [run, wait] = fs.readFileSync(SCHEDSTAT, 'latin1').split(' ');
    return [Number(run) / 1e6, Number(wait) / 1e6];
  } catch {
    return [NaN, NaN];
  }
}
let last = performance.now();
let lastSched = schedstat();
setInterval(() => {
  const now = performance.now();
  const sched = schedstat();
  const late = now - last - STALL_TICK_MS;
  if (late > STALL_MS) {
    out.push({ t: origin + last + STALL_TICK_MS, ms: late, what: 'stall', cpuMs: sched[0] - lastSched[0], waitMs: sched[1] - lastSched[1] });
  }
  last = now;
  lastSched = sched;
}, STALL_TICK_MS).unref();

process.on('exit', () => {
  const dir = process.env.ETCDTS_TRACE_DIR || '.';
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `loop-${process.pid}.jsonl`), out.map((o) => JSON.stringify(o)).join('\n') + '\n');
});
