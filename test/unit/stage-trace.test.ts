// The opt-in stage trace (src/util/stage-trace.ts) and its reader
// (bench/stage-timeline.cjs): off, nothing is recorded; on, stages come out in
// order with their times; the reader lines a leader's and a follower's files up
// into one timeline per request and counts stages per applied entry.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'stage-trace-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A member's trace file as stage-trace writes it: stages at ms offsets from `origin`. */
function traceFile(dir: string, pid: number, origin: number, events: [string, number][]): void {
  const names = [...new Set(events.map(([n]) => n))];
  const ev = events.map(([n, t]) => `${names.indexOf(n)},${t.toFixed(3)}`).join(';');
  writeFileSync(join(dir, `stage-${pid}.json`), JSON.stringify({ origin, names, ev }));
}

describe('stage trace', () => {
  it('records nothing unless ETCDTS_STAGE_TRACE is set', async () => {
    vi.stubEnv('ETCDTS_STAGE_TRACE', '');
    const t = await import('../../src/util/stage-trace.js');
    expect(t.TRACE_ON).toBe(false);
    t.stage('rx');
    expect(t.writeStageTrace()).toBeUndefined();
  });

  it('records stages in order with their times, and writes them with the names and the time origin', async () => {
    const dir = tempDir();
    vi.stubEnv('ETCDTS_STAGE_TRACE', dir);
    const t = await import('../../src/util/stage-trace.js');
    expect(t.TRACE_ON).toBe(true);
    const before = performance.now();
    t.stage('rx');
    t.stage('propose');
    t.stage('rx');
    const after = performance.now();
    const file = t.writeStageTrace()!;
    const j = JSON.parse(readFileSync(file, 'utf8')) as { origin: number; names: string[]; ev: string };
    expect(j.origin).toBeCloseTo(performance.timeOrigin, 3);
    const ev = j.ev.split(';').map((s) => s.split(',').map(Number) as [number, number]);
    const own = ev.filter(([c]) => !j.names[c]!.startsWith('gc-')); // a GC pause may be in there too
    expect(own.map(([c]) => j.names[c])).toEqual(['rx', 'propose', 'rx']);
    for (const [, ms] of own) {
      expect(ms).toBeGreaterThanOrEqual(Math.floor(before * 1000) / 1000);
      expect(ms).toBeLessThanOrEqual(after + 0.001);
    }
  });

  it('bench/stage-timeline.cjs lines the members up per request and counts stages per entry', () => {
    const dir = tempDir();
    const origin = 1_000_000;
    // Leader: two requests 1 ms apart, a third to close the second. Follower: its own clock origin 0.5 ms later.
    const leader: [string, number][] = [];
    const follower: [string, number][] = [];
    for (const start of [0, 1, 2]) {
      leader.push(['rx', start], ['propose', start + 0.01], ['ready-ent', start + 0.02], ['sock-w', start + 0.03], ['wal-w', start + 0.05]);
      leader.push(['wal-wd', start + 0.4], ['saved', start + 0.41], ['rx-resp', start + 0.5], ['ready-com', start + 0.52]);
      leader.push(['deliver', start + 0.54], ['resumed', start + 0.55], ['finish', start + 0.56], ['trailers', start + 0.62], ['close', start + 0.7]);
      follower.push(['rx-app', start - 0.5 + 0.1], ['wal-w', start - 0.5 + 0.12], ['wal-wd', start - 0.5 + 0.45], ['tx-resp', start - 0.5 + 0.46], ['deliver', start - 0.5 + 0.8]);
    }
    traceFile(dir, 1, origin, leader);
    traceFile(dir, 2, origin + 0.5, follower);
    const out = execFileSync(process.execPath, ['bench/stage-timeline.cjs', dir, '2'], { encoding: 'utf8' });
    expect(out).toMatch(/^through the leader: L stage-1\.json, F0 stage-2\.json; 2 requests; 0 met a GC pause/);
    const row = (name: string): number[] => {
      const line = out.split('\n').find((l) => l.startsWith(name));
      expect(line, name).toBeDefined();
      return line!.slice(name.length).trim().split(/\s+/).map(Number);
    };
    expect(row('L propose')).toEqual([2, 10, 10, 10, 10, 10]); // n, p10, p50, p90, p99, mean (µs)
    expect(row('F0 rx-app')).toEqual([2, 100, 100, 100, 100, 100]);
    expect(row('F0 wal-wd')[2]).toBe(450);
    expect(row('L trailers')[2]).toBe(620);
    expect(row('applied → proposer resumed')).toEqual([10, 10, 10, 10]); // mean, p50, p90, p99
    expect(row('max(own save, first ack) → Ready with commit')[1]).toBe(20);
    expect(row('= request to request')[1]).toBe(1000);

    const counts = execFileSync(process.execPath, ['bench/stage-timeline.cjs', dir, '3', '--counts'], { encoding: 'utf8' });
    expect(counts).toContain('stage-1.json close=1.000 deliver=1.000');
    // Counted from the oldest of the last N applies on: the follower applies after it received, so its first request falls out.
    expect(counts).toContain('stage-2.json deliver=1.000 rx-app=0.667 ');
  });

  it('bench/stage-timeline.cjs follows a request sent to a follower, ranks the slowest and lines up a stall probe', () => {
    const dir = tempDir();
    const origin = 2_000_000;
    // E (the client's member) forwards to L, L appends to E and O, O's ack commits, L's notice reaches E, E answers.
    // Requests every 2 ms; the third takes 1 ms longer: L steps the forwarded proposal 1 ms late, in a silent gap.
    const e: [string, number][] = [];
    const l: [string, number][] = [];
    const o: [string, number][] = [];
    for (let k = 0; k < 4; k++) {
      const t = 2 * k;
      const late = k === 2 ? 1 : 0;
      e.push(['rx', t], ['propose', t + 0.01], ['tx-2', t + 0.02]);
      l.push(['rx-2', t + 0.1 + late], ['ready-ent', t + 0.11 + late], ['tx-app', t + 0.12 + late], ['tx-app', t + 0.121 + late]);
      l.push(['wal-w', t + 0.13 + late], ['wal-wd', t + 0.5 + late], ['saved', t + 0.51 + late]);
      o.push(['rx-app', t + 0.2 + late], ['wal-w', t + 0.21 + late], ['wal-wd', t + 0.55 + late], ['tx-resp', t + 0.56 + late]);
      e.push(['rx-app', t + 0.22 + late], ['wal-w', t + 0.23 + late], ['wal-wd', t + 0.6 + late], ['tx-resp', t + 0.61 + late]);
      l.push(['rx-resp', t + 0.6 + late], ['ready-com', t + 0.62 + late], ['tx-app0', t + 0.63 + late], ['deliver', t + 0.64 + late]);
      e.push(['rx-app0', t + 0.7 + late], ['ready-com', t + 0.71 + late], ['deliver', t + 0.73 + late], ['resumed', t + 0.74 + late]);
      e.push(['finish', t + 0.75 + late], ['trailers', t + 0.76 + late], ['close', t + 0.8 + late]);
    }
    traceFile(dir, 11, origin, l);
    traceFile(dir, 12, origin, e);
    traceFile(dir, 13, origin, o);
    // The probe stalled across the third request's gap (a sleep of 0.2 ms that ended 1.1 ms late), and once elsewhere.
    const probe = join(dir, 'stalls');
    writeFileSync(probe, `${origin + 4.02} 1100\n${origin + 0.9} 800\n`);
    const out = execFileSync(process.execPath, ['bench/stage-timeline.cjs', dir, '3', '--probe', probe], { encoding: 'utf8' });
    expect(out).toMatch(/^through a follower: E stage-12\.json, L stage-11\.json, O stage-13\.json; 3 requests;/);
    const row = (name: string): number[] => {
      const line = out.split('\n').find((x) => x.startsWith(name));
      expect(line, name).toBeDefined();
      return line!.slice(name.length).trim().split(/\s+/).map(Number);
    };
    expect(row('L rx-2')).toEqual([3, 100, 100, 1100, 1100, 433]);
    expect(row('E rx-app0')[2]).toBe(700);
    expect(row('forward → leader stepped it')).toEqual([413, 80, 1080, 1080]); // mean, p50, p90, p99
    expect(row('notice sent → E stepped it')[1]).toBe(70);
    expect(row('E: trailers → stream closed')[1]).toBe(40);
    // The slowest 1% of three requests is one: the late one, its extra time all in the forward.
    expect(out).toMatch(/slowest 1 by stream close \(1800–1800 µs; p50 of all 800\)/);
    const slowRow = out.split('slowest')[1]!.split('\n').find((x) => x.startsWith('forward → leader stepped it'))!;
    expect(slowRow.slice('forward → leader stepped it'.length).trim().split(/\s+/).map(Number)).toEqual([413, 1080, 667]);
    expect(out).toMatch(/probe: 2 stalls in the 0\.0 s window .*; 1 of the slowest 1 had a gap over 1 ms with no member recording anything, 1 of those gaps overlap a probe stall \(by chance: 0\)/);
  });
});
