// Issue 18: "serving /ui costs nothing when nobody opens it". A member built with the
// dashboard runs with a timer census preloaded (fixtures/timer-census.cjs: every
// setTimeout/setInterval/setImmediate the process creates, keyed by the stack that
// created it, and how often each fired). Up to the end of an idle window with nobody
// on /ui, no timer may have been created by a stack that passes through the
// dashboard's server module; after a one-off fetch of the page and its assets, none of
// the dashboard's may be created or fire in a second idle window: a background
// poller, cache refresher or metrics sampler added to it would fail this. The census
// must see the member's own timers (raft ticks), so a broken preload fails too. The
// member's CPU time over each window is printed (not asserted: timings go to bench).

import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from './helpers/cluster.js';
import { requireEtcdctl, startMember, stopMember } from './helpers/etcd-process.js';
import { REPO, type Member } from './helpers/member.js';

const RUN = requireEtcdctl();
const CENSUS = resolve(import.meta.dirname, 'fixtures/timer-census.cjs');
const IDLE_MS = 3_000;
/**
 * A frame in the dashboard's server side: a compiled module named ui (or ui-*) or
 * one under a ui/ folder, in dist/src.
 */
const UI_FRAME = /[/\\]dist[/\\]src[/\\](?:[^\s:]*[/\\])?ui(?:[/\\][^\s:]*|-[^\s:/\\]*)?\.js/;

interface Site { kind: string; created: number; fired: number; frames: string[] }
interface Census { at: number; census: Site[] }

/** Asks the member (SIGUSR2) for its census; waits (bounded) for a fresh one. */
async function census(m: Member, out: string): Promise<Census> {
  const before = Date.now();
  m.proc!.kill('SIGUSR2');
  return waitFor('the member to write its timer census', 5_000, async () => {
    const c = JSON.parse(await readFile(out, 'utf8')) as Census;
    return c.at >= before ? c : undefined;
  }, 50);
}

/** The member's user+system CPU time so far, in ms (from /proc, as ps reads it). */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

const uiSites = (c: Census): Site[] => c.census.filter((s) => s.frames.some((f) => UI_FRAME.test(f)));
const ownSites = (c: Census): Site[] => c.census.filter((s) => s.frames.some((f) => f.includes(join(REPO, 'dist/src'))));
const show = (sites: Site[]): string => sites.map((s) => `${s.kind} x${s.created} (fired ${s.fired})\n  ${s.frames.slice(0, 8).join('\n  ')}`).join('\n');

describe.skipIf(!RUN)('dashboard: serving /ui does no work while nobody opens it', () => {
  let m: Member | undefined;
  const out = join(tmpdir(), `etcd-ts-timer-census-${process.pid}.json`);
  const saved = { opts: process.env.ETCDTS_NODE_OPTS, out: process.env.TIMER_CENSUS_OUT };

  beforeAll(async () => {
    process.env.ETCDTS_NODE_OPTS = `--require ${CENSUS}`;
    process.env.TIMER_CENSUS_OUT = out;
    try {
      m = await startMember({ name: 'idle' });
    } finally {
      if (saved.opts === undefined) delete process.env.ETCDTS_NODE_OPTS;
      else process.env.ETCDTS_NODE_OPTS = saved.opts;
      if (saved.out === undefined) delete process.env.TIMER_CENSUS_OUT;
      else process.env.TIMER_CENSUS_OUT = saved.out;
    }
  });
  afterAll(async () => {
    await stopMember(m);
    await rm(out, { force: true });
  });

  it('creates no timer from the dashboard module, idle or after the page was fetched once', async () => {
    const member = m!;
    const pid = member.proc!.pid!;
    const start = await census(member, out);
    const cpu0 = await cpuMs(pid);
    await sleep(IDLE_MS);
    const idle = await census(member, out);
    const cpu1 = await cpuMs(pid);

    // The census works: it saw the member's own timers, and they fired during the window.
    const own = ownSites(idle);
    expect(own.length, 'timers created by dist/src code').toBeGreaterThan(0);
    const firedInWindow = own.reduce((n, s) => n + s.fired, 0) - ownSites(start).reduce((n, s) => n + s.fired, 0);
    expect(firedInWindow, 'member timers fired during the idle window').toBeGreaterThan(0);
    expect(uiSites(idle), `timers from the dashboard module while nobody opened /ui:\n${show(uiSites(idle))}`).toEqual([]);

    // Someone fetches the page and its assets once, then leaves.
    const res = await fetch(`${member.clientUrl}/ui/`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<html/i);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((x) => new URL(x[1]!, `${member.clientUrl}/ui/`).href);
    for (const a of assets) {
      const r = await fetch(a, { signal: AbortSignal.timeout(5_000) });
      expect(r.status, a).toBe(200);
      await r.arrayBuffer();
    }
    // Serving a request may use timers of its own; once it is answered, nothing of the
    // dashboard's may be created or fire again.
    const served = await census(member, out);
    const cpu2 = await cpuMs(pid);
    await sleep(IDLE_MS);
    const after = await census(member, out);
    const cpu3 = await cpuMs(pid);
    const activity = (c: Census): Map<string, number> => new Map(uiSites(c).map((x) => [`${x.kind}\n${x.frames.join('\n')}`, x.created + x.fired]));
    const busy = uiSites(after).filter((x) => (activity(after).get(`${x.kind}\n${x.frames.join('\n')}`) ?? 0) !== (activity(served).get(`${x.kind}\n${x.frames.join('\n')}`) ?? 0));
    expect(busy, `dashboard timers created or fired in the idle window after one fetch of /ui:\n${show(busy)}`).toEqual([]);
    console.log(`ui-idle: member CPU over ${IDLE_MS} ms idle: ${(cpu1 - cpu0).toFixed(0)} ms before any /ui request, ${(cpu3 - cpu2).toFixed(0)} ms after one (${assets.length} assets fetched)`);
  });
});
