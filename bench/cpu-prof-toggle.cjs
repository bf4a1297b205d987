// Preloaded into an etcd-ts member (ETCDTS_NODE_OPTS="--require .../cpu-prof-toggle.cjs")
// by bench/profile-cluster.sh: the first SIGUSR2 starts the V8 CPU profiler, the
// second stops it and writes $ETCDTS_PROF_DIR/cpu-<pid>.cpuprofile, so a warm-up
// can run before the profiled window (node --cpu-prof profiles the whole life).
// Sampling interval: $ETCDTS_PROF_INTERVAL_US (default 500 µs).
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');
let session = null;
process.on('SIGUSR2', () => {
  if (!session) {
    session = new inspector.Session();
    session.connect();
    session.post('Profiler.enable', () => {
      session.post('Profiler.setSamplingInterval', { interval: Number(process.env.ETCDTS_PROF_INTERVAL_US || 500) }, () => {
        session.post('Profiler.start', () => {});
      });
    });
    return;
  }
  const s = session;
  session = null;
  s.post('Profiler.stop', (err, res) => {
    if (!err) {
      const dir = process.env.ETCDTS_PROF_DIR || '.';
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `cpu-${process.pid}.cpuprofile`);
      fs.writeFileSync(file + '.tmp', JSON.stringify(res.profile));
      fs.renameSync(file + '.tmp', file);
    }
    s.disconnect();
  });
});
