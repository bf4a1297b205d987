// Preloaded into an etcd-ts member (ETCDTS_NODE_OPTS="--require .../heap-prof-toggle.cjs")
// by `PROFILE=heap bench/profile-cluster.sh`: the first SIGUSR2 starts V8's
// sampling heap profiler, the second stops it and writes
// $ETCDTS_PROF_DIR/heap-<pid>.heapprofile. The profiler keeps the samples of
// objects the scavenger and the mark-compactor collected, so the profile counts
// every byte allocated in the window (not only what is still alive), which is
// what GC cost follows. Sampling interval: $ETCDTS_HEAP_PROF_INTERVAL bytes
// (default 8192; each sample stands for that many bytes on average).
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');
let session = null;
process.on('SIGUSR2', () => {
  if (!session) {
    session = new inspector.Session();
    session.connect();
    session.post('HeapProfiler.enable', () => {
      session.post('HeapProfiler.startSampling', {
        samplingInterval: Number(process.env.ETCDTS_HEAP_PROF_INTERVAL || 8192),
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      }, () => {});
    });
    return;
  }
  const s = session;
  session = null;
  s.post('HeapProfiler.stopSampling', (err, res) => {
    if (!err) {
      const dir = process.env.ETCDTS_PROF_DIR || '.';
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `heap-${process.pid}.heapprofile`);
      fs.writeFileSync(file + '.tmp', JSON.stringify(res.profile));
      fs.renameSync(file + '.tmp', file);
    }
    s.disconnect();
  });
});
