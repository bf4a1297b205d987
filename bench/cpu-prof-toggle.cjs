// Preloaded into an etcd-ts member (ETCDTS_NODE_OPTS="--require .../cpu-prof-toggle.cjs")
// by bench/profile-cluster.sh: the first SIGUSR2 starts a V8 profiler, the second
// stops it and writes its profile to $ETCDTS_PROF_DIR, so a warm-up can run before
// the profiled window (node --cpu-prof profiles the whole life).
// ETCDTS_PROF_KIND picks the profiler:
// - cpu (default): the CPU profiler, cpu-<pid>.cpuprofile; sampling interval
//   $ETCDTS_PROF_INTERVAL_US (default 500 µs).
// - heap: the sampling heap profiler, heap-<pid>.heapprofile. It keeps the samples
//   of objects the scavenger and the mark-compactor collected, so the profile
//   counts every byte allocated in the window (not only what is still alive),
//   which is what GC cost follows. Sampling interval $ETCDTS_HEAP_PROF_INTERVAL
//   bytes (default 8192; each sample stands for that many bytes on average).
//   Summarise with bench/heap-alloc-summary.cjs.
// - promoted: the same profiler, but dropping the samples of objects the scavenger
//   collected: what is left is what outlived the young generation (promoted to old
//   space, whether or not a mark-compact freed it later), by allocation site. Old
//   space fills with exactly these bytes, so they set how often mark-compacts run.
//   heap-<pid>.heapprofile as well; the same summary applies. Objects still in the
//   young generation when the profile stops count too (they were not collected):
//   up to twice the semi-space over the window's requests (with 4 MiB semi-spaces
//   and 30,000 requests, ~280 B/request). With ETCDTS_NODE_OPTS=--expose-gc, two
//   scavenges run just before the stop, so only what is still alive then counts.
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

/** The sampling heap profiler; it always keeps what mark-compacts collected, and what scavenges did if asked. */
function heapSampling({ keepScavenged }) {
  return {
    domain: 'HeapProfiler',
    start: (s, done) =>
      s.post('HeapProfiler.startSampling', {
        samplingInterval: Number(process.env.ETCDTS_HEAP_PROF_INTERVAL || 8192),
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: keepScavenged,
      }, done),
    stop: 'HeapProfiler.stopSampling',
    file: (pid) => `heap-${pid}.heapprofile`,
  };
}

const PROFILERS = {
  cpu: {
    domain: 'Profiler',
    start: (s, done) =>
      s.post('Profiler.setSamplingInterval', { interval: Number(process.env.ETCDTS_PROF_INTERVAL_US || 500) }, () =>
        s.post('Profiler.start', done)),
    stop: 'Profiler.stop',
    file: (pid) => `cpu-${pid}.cpuprofile`,
  },
  heap: heapSampling({ keepScavenged: true }),
  promoted: {
    ...heapSampling({ keepScavenged: false }),
    beforeStop: () => {
      if (typeof globalThis.gc !== 'function') return;
      globalThis.gc({ type: 'minor' });
      globalThis.gc({ type: 'minor' });
    },
  },
};
const profiler = PROFILERS[process.env.ETCDTS_PROF_KIND || 'cpu'];
if (!profiler) throw new Error(`ETCDTS_PROF_KIND: not one of ${Object.keys(PROFILERS).join(', ')}`);

let session = null;
process.on('SIGUSR2', () => {
  if (!session) {
    session = new inspector.Session();
    session.connect();
    const s = session;
    s.post(`${profiler.domain}.enable`, () => profiler.start(s, () => {}));
    return;
  }
  const s = session;
  session = null;
  // What is dead in the young generation would count as surviving (see above):
  // with --expose-gc, two scavenges collect it first.
  if (profiler.beforeStop) profiler.beforeStop();
  s.post(profiler.stop, (err, res) => {
    if (!err) {
      const dir = process.env.ETCDTS_PROF_DIR || '.';
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, profiler.file(process.pid));
      fs.writeFileSync(file + '.tmp', JSON.stringify(res.profile));
      fs.renameSync(file + '.tmp', file);
    }
    s.disconnect();
  });
});
