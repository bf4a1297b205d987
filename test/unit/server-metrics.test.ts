// /metrics: a member's own metrics and the process's (CPU, memory, event loop),
// the latter collected once per process however many members it creates.

import { describe, expect, it } from 'vitest';
import { ServerMetrics } from '../../src/server/metrics.js';

const familyCount = (text: string, name: string): number =>
  text.split('\n').filter((l) => l === `# TYPE ${name} gauge` || l === `# TYPE ${name} counter`).length;

describe('ServerMetrics exposition', () => {
  it('has the member metrics and the process metrics, each family once', async () => {
    const m = new ServerMetrics();
    m.hasLeader.set(1);
    const { contentType, body } = await m.exposition();
    expect(contentType).toContain('text/plain');
    expect(body).toContain('etcd_server_has_leader 1');
    expect(familyCount(body, 'process_resident_memory_bytes')).toBe(1);
    expect(familyCount(body, 'nodejs_eventloop_lag_seconds')).toBe(1);
  });

  it('keeps members apart while sharing one set of process collectors', async () => {
    const members = Array.from({ length: 20 }, () => new ServerMetrics());
    members[3]!.leaderChanges.inc(2);
    const third = (await members[3]!.exposition()).body;
    const other = (await members[4]!.exposition()).body;
    expect(third).toContain('etcd_server_leader_changes_seen_total 2');
    expect(other).toContain('etcd_server_leader_changes_seen_total 0');
    // One process registry: the members' registries never hold the process families.
    for (const m of members) expect(await m.registry.metrics()).not.toContain('process_cpu_seconds_total');
    expect(familyCount(other, 'process_cpu_seconds_total')).toBe(1);
  });
});
