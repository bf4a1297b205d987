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
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const PROFILERS = {
  cpu: {
    domain: 'Profiler',
    start: (s, done) =>
      s.post('Profiler.setSamplingInterval', { interval: Number(process.env.ETCDTS_PROF_INTERVAL_US || 500) }, () =>
        s.post('Profiler.start', done)),
    stop: 'Profiler.stop',
    file: (pid) => `cpu-${pid}.cpuprofile`,
  },
  heap: {
    domain: 'HeapProfiler',
    start: (s, done) =>
      s.post('HeapProfiler.startSampling', {
        samplingInterval: Number(process.env.ETCDTS_HEAP_PROF_INTERVAL || 8192),
        // ETCDTS_HEAP_PROF_SURVIVORS=live: only what is still alive when the profile
        // stops (what the window's requests left behind for good).
        includeObjectsCollectedByMajorGC: process.env.ETCDTS_HEAP_PROF_SURVIVORS !== 'live',
        // ETCDTS_HEAP_PROF_SURVIVORS=1: drop what scavenges collect, leaving (mostly) what
        // they copied or promoted; V8 still keeps some samples of objects that died young.
        includeObjectsCollectedByMinorGC: !['1', 'live'].includes(process.env.ETCDTS_HEAP_PROF_SURVIVORS ?? ''),
      }, done),
    stop: 'HeapProfiler.stopSampling',
    file: (pid) => `heap-${pid}.heapprofile`,
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
