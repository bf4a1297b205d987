// Failpoints: the spec language (bad specs refused with a message naming the
// problem), the actions (panic through an installed handler, sleep, error, N*,
// P%, off), the HTTP endpoint, and a real process killed by `panic` and refused
// at start for a bad spec.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  clearFailpoint,
  enableFailpoints,
  FailpointError,
  failpoint,
  failpointAsync,
  failpointFired,
  FailpointPanic,
  FailpointSpecError,
  listFailpoints,
  parseFailpointSpec,
  parseTerm,
  type PanicHandler,
  setFailpoint,
  setFailpointLogger,
  setFailpointPanicHandler,
  setFailpointRandom,
  setFailpoints,
} from '../../src/util/failpoints.js';
import { parseFailpointHttpAddress, startFailpointHttp } from '../../src/util/failpoints-http.js';
import { BIN, REPO } from '../e2e/helpers/member.js';

describe('failpoint spec', () => {
  it('reads each action and the N* and P% modifiers', () => {
    expect(parseTerm('panic').action).toEqual({ kind: 'panic' });
    expect(parseTerm('panic()').action).toEqual({ kind: 'panic' });
    expect(parseTerm('off').action).toEqual({ kind: 'off' });
    expect(parseTerm('sleep(100)').action).toEqual({ kind: 'sleep', ms: 100 });
    expect(parseTerm('sleep("1.5s")').action).toEqual({ kind: 'sleep', ms: 1500 });
    expect(parseTerm('sleep(250ms)').action).toEqual({ kind: 'sleep', ms: 250 });
    expect(parseTerm('error(disk full)').action).toEqual({ kind: 'error', message: 'disk full' });
    expect(parseTerm('error("a, b")').action).toEqual({ kind: 'error', message: 'a, b' });
    expect(parseTerm('3*panic')).toMatchObject({ count: 3, action: { kind: 'panic' } });
    expect(parseTerm('25%sleep(5)')).toMatchObject({ percent: 25, action: { kind: 'sleep', ms: 5 } });
    expect(parseTerm('50.5%2*error(x)')).toMatchObject({ percent: 50.5, count: 2, action: { kind: 'error', message: 'x' } });
  });

  it('reads name=term lists separated by commas or semicolons, commas inside an action kept', () => {
    const m = parseFailpointSpec('raftBeforeSave=panic, beforeCommit=error("x,y");afterApply=2*sleep(10)');
    expect([...m].map(([n, t]) => [n, t.text])).toEqual([
      ['raftBeforeSave', 'panic'],
      ['beforeCommit', 'error("x,y")'],
      ['afterApply', '2*sleep(10)'],
    ]);
    expect(parseFailpointSpec('').size).toBe(0);
  });

  it.each([
    ['raftBeforSave=panic', /unknown failpoint "raftBeforSave"; known: raftBeforeLeaderSend, raftBeforeSave/],
    ['raftBeforeSave', /"raftBeforeSave" is not name=action/],
    ['raftBeforeSave=explode', /unknown action "explode"/],
    ['raftBeforeSave=sleep', /sleep needs a duration/],
    ['raftBeforeSave=sleep(soon)', /sleep wants milliseconds or a duration/],
    ['raftBeforeSave=0*panic', /count 0 must be at least 1/],
    ['raftBeforeSave=150%panic', /probability 150% is not in \(0, 100\]/],
    ['raftBeforeSave=', /term is empty/],
    ['raftBeforeSave=panic,raftBeforeSave=off', /set twice/],
    ['raftBeforeLeaderSend=error(x)', /raftBeforeLeaderSend cannot fail with error/],
  ])('refuses %s with a clear message', (spec, message) => {
    expect(() => parseFailpointSpec(spec)).toThrow(FailpointSpecError);
    expect(() => parseFailpointSpec(spec)).toThrow(message);
  });

  it('a bad spec changes nothing', () => {
    enableFailpoints(true);
    try {
      expect(() => setFailpoints('beforeApply=panic,nope=panic')).toThrow(/unknown failpoint "nope"/);
      expect(listFailpoints().size).toBe(0);
    } finally {
      enableFailpoints(false);
    }
  });
});

describe('failpoint actions', () => {
  const logged: Record<string, unknown>[] = [];
  const panics: string[] = [];

  function arm(spec: string): void {
    enableFailpoints(true);
    setFailpointLogger({ warn: (fields) => void logged.push(fields) });
    setFailpointPanicHandler((name) => {
      panics.push(name);
      throw new Error(`crashed at ${name}`);
    });
    setFailpoints(spec);
  }

  afterEach(() => {
    enableFailpoints(false);
    setFailpointLogger(undefined);
    setFailpointPanicHandler(undefined);
    setFailpointRandom(undefined);
    logged.length = 0;
    panics.length = 0;
  });

  it('does nothing for a failpoint that is not armed', () => {
    arm('');
    expect(failpoint('beforeApply')).toBeUndefined();
    expect(failpointAsync('raftBeforeSave')).toBeUndefined();
    expect(logged).toEqual([]);
  });

  it('panic calls the installed handler (an in-process simulation crashes one member) and logs the failpoint', () => {
    arm('beforeApply=panic');
    expect(() => failpoint('beforeApply')).toThrow('crashed at beforeApply');
    expect(panics).toEqual(['beforeApply']);
    expect(logged).toEqual([{ failpoint: 'beforeApply', action: 'panic' }]);
  });

  it('a panic handler that returns still stops the site', () => {
    arm('beforeApply=panic');
    setFailpointPanicHandler((() => undefined) as unknown as PanicHandler);
    expect(() => failpoint('beforeApply')).toThrow(FailpointPanic);
  });

  it('error throws a FailpointError with the message at both kinds of site', () => {
    arm('beforeCommit=error(disk full),afterApply=error(boom)');
    expect(() => failpointAsync('beforeCommit')).toThrow(new FailpointError('beforeCommit', 'disk full'));
    expect(() => failpoint('afterApply')).toThrow('failpoint afterApply: boom');
  });

  it('sleep delays an async site without blocking, and blocks a sync site', async () => {
    arm('raftBeforeSave=sleep(60),beforeApply=sleep(40)');
    let t = performance.now();
    const p = failpointAsync('raftBeforeSave');
    expect(p).toBeInstanceOf(Promise);
    expect(performance.now() - t).toBeLessThan(30);
    await p;
    expect(performance.now() - t).toBeGreaterThanOrEqual(55);
    t = performance.now();
    failpoint('beforeApply');
    expect(performance.now() - t).toBeGreaterThanOrEqual(35);
    expect(logged.map((f) => f.failpoint)).toEqual(['raftBeforeSave', 'beforeApply']);
  });

  it('N* fires only the first N times, then the failpoint is disarmed', () => {
    arm('afterApply=2*error(x)');
    expect(() => failpoint('afterApply')).toThrow();
    expect(() => failpoint('afterApply')).toThrow();
    expect(() => failpoint('afterApply')).not.toThrow();
    expect(failpointFired('afterApply')).toBeGreaterThanOrEqual(2);
    expect(listFailpoints().has('afterApply')).toBe(false);
  });

  it('P% fires when the dice fall under P, and N* counts only the hits that fired', () => {
    const rolls = [0.9, 0.1, 0.5, 0.2, 0.05];
    setFailpointRandom(() => rolls.shift()!);
    arm('beforeApply=30%2*error(x)');
    const outcomes = rolls.slice().map(() => {
      try {
        failpoint('beforeApply');
        return 'pass';
      } catch {
        return 'fail';
      }
    });
    // 0.9 no, 0.1 yes, 0.5 no, 0.2 yes (count used up), 0.05 disarmed
    expect(outcomes).toEqual(['pass', 'fail', 'pass', 'fail', 'pass']);
  });

  it('off and clear disarm; set at run time replaces a term', () => {
    arm('beforeApply=error(a)');
    setFailpoint('beforeApply', 'error(b)');
    expect(() => failpoint('beforeApply')).toThrow('failpoint beforeApply: b');
    setFailpoint('beforeApply', 'off');
    expect(() => failpoint('beforeApply')).not.toThrow();
    setFailpoint('beforeApply', 'error(c)');
    clearFailpoint('beforeApply');
    expect(() => failpoint('beforeApply')).not.toThrow();
    expect(() => setFailpoint('beforeApply', 'bogus')).toThrow(FailpointSpecError);
  });
});

describe('failpoint HTTP endpoint', () => {
  afterEach(() => enableFailpoints(false));

  it('accepts only loopback host:port', () => {
    expect(parseFailpointHttpAddress('127.0.0.1:2381')).toEqual({ host: '127.0.0.1', port: 2381 });
    expect(parseFailpointHttpAddress('[::1]:2381')).toEqual({ host: '::1', port: 2381 });
    expect(() => parseFailpointHttpAddress('0.0.0.0:2381')).toThrow(/not a loopback address/);
    expect(() => parseFailpointHttpAddress('127.0.0.1')).toThrow(/not host:port/);
    expect(() => parseFailpointHttpAddress('127.0.0.1:99999')).toThrow(/not host:port/);
  });

  it('lists, sets, reads and deletes failpoints as gofail does', async () => {
    enableFailpoints(true);
    const server = await startFailpointHttp('127.0.0.1:0');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      let r = await fetch(`${base}/raftBeforeSave`, { method: 'PUT', body: '2*sleep(10)' });
      expect(r.status).toBe(204);
      r = await fetch(`${base}/beforeApply`, { method: 'PUT', body: 'panic' });
      expect(r.status).toBe(204);
      expect(await (await fetch(`${base}/`)).text()).toBe('raftBeforeSave=2*sleep(10)\nbeforeApply=panic\n');
      expect(await (await fetch(`${base}/beforeApply`)).text()).toBe('panic\n');
      r = await fetch(`${base}/beforeApply`, { method: 'DELETE' });
      expect(r.status).toBe(204);
      expect((await fetch(`${base}/beforeApply`)).status).toBe(404);
      r = await fetch(`${base}/beforeApply`, { method: 'PUT', body: 'explode' });
      expect(r.status).toBe(400);
      expect(await r.text()).toMatch(/unknown action "explode"/);
      r = await fetch(`${base}/noSuchPoint`, { method: 'PUT', body: 'panic' });
      expect(r.status).toBe(404);
      expect(await r.text()).toMatch(/unknown failpoint "noSuchPoint"/);
    } finally {
      clearFailpoint('raftBeforeSave');
      server.close();
    }
  });
});

describe('failpoints in a real member process', () => {
  async function runMember(env: Record<string, string>, args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
    const proc = spawn(BIN, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    const [code, signal] = (await once(proc, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    return { code, signal, stderr };
  }

  it('refuses to start with a bad ETCD_TS_FAILPOINTS, naming the problem', async () => {
    const r = await runMember({ ETCD_TS_FAILPOINTS: 'raftBeforeSav=panic' }, ['--data-dir', `/tmp/etcd-ts-fp-never-${process.pid}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/etcd-ts: unknown failpoint "raftBeforeSav"; known:/);
  });

  it('panic kills the process like kill -9 and names the failpoint on stderr', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { freePort } = await import('../e2e/helpers/member.js');
    const dir = await mkdtemp(join(tmpdir(), 'etcd-ts-fp-'));
    const [cp, pp] = [await freePort(), await freePort()];
    try {
      const r = await runMember({ ETCD_TS_FAILPOINTS: 'raftBeforeSave=panic' }, [
        '--data-dir', dir,
        '--listen-client-urls', `http://127.0.0.1:${cp}`, '--advertise-client-urls', `http://127.0.0.1:${cp}`,
        '--listen-peer-urls', `http://127.0.0.1:${pp}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${pp}`,
        '--initial-cluster', `default=http://127.0.0.1:${pp}`,
      ]);
      expect(r.signal).toBe('SIGKILL');
      expect(r.stderr).toMatch(/"msg":"failpoint fired","failpoint":"raftBeforeSave","action":"panic"/);
      expect(r.stderr).not.toContain('ready to serve client requests');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
