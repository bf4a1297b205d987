// Failpoints: named places in the real code where a test can make the member
// crash, stall or fail (gofail's idea; the language is in failpoint-spec.ts, the
// places in failpoint-sites.ts).
//
// Every site is one line guarded by FAILPOINTS_ON:
//   if (FAILPOINTS_ON) await failpointAsync('raftBeforeSave');   // async code
//   if (FAILPOINTS_ON) failpoint('beforeApply');                 // sync code
// FAILPOINTS_ON is false unless ETCD_TS_FAILPOINTS or ETCD_TS_FAILPOINTS_HTTP is
// set when the process starts (or a test calls enableFailpoints), so a production
// member pays one load and one not-taken branch per site.
//
// `panic` kills the process at once (SIGKILL to itself: nothing flushed, no exit
// hooks). An in-process simulation that runs several members in one process
// installs its own panic handler (setFailpointPanicHandler) that crashes only the
// member it is running; that handler must not return (if it does, the site throws
// FailpointPanic so the member's code stops there all the same).

import { writeSync } from 'node:fs';
import type { FailpointName } from './failpoint-sites.js';
import { checkName, checkTermFor, FailpointSpecError, parseFailpointSpec, parseTerm, type FailpointTerm } from './failpoint-spec.js';

export { FAILPOINT_SITES, type FailpointName } from './failpoint-sites.js';
export { FailpointSpecError, parseFailpointSpec, parseTerm, type FailpointAction, type FailpointTerm } from './failpoint-spec.js';

export const FAILPOINTS_ENV = 'ETCD_TS_FAILPOINTS';
export const FAILPOINTS_HTTP_ENV = 'ETCD_TS_FAILPOINTS_HTTP';

/** Where fired failpoints are reported (a pino logger fits). */
export interface FailpointLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
}

/** Thrown by a site whose panic handler returned. */
export class FailpointPanic extends Error {
  constructor(readonly failpoint: FailpointName) {
    super(`failpoint ${failpoint}: panic`);
  }
}

/** Thrown by a site whose failpoint is error(msg). */
export class FailpointError extends Error {
  constructor(readonly failpoint: FailpointName, message: string) {
    super(`failpoint ${failpoint}: ${message}`);
  }
}

export type PanicHandler = (name: FailpointName) => never;

interface Armed {
  term: FailpointTerm;
  /** Times it may still fire (count terms only). */
  left: number;
}

const armed = new Map<FailpointName, Armed>();
const fired = new Map<FailpointName, number>();

/** True when any failpoint may be set in this process; sites check it first. */
export let FAILPOINTS_ON: boolean = process.env[FAILPOINTS_ENV] !== undefined || process.env[FAILPOINTS_HTTP_ENV] !== undefined;

let envError: FailpointSpecError | undefined;
let logger: FailpointLogger | undefined;
let random: () => number = Math.random;

function defaultPanic(name: FailpointName): never {
  // Written synchronously: the line is the only trace the test gets of why the member died.
  writeSync(2, `${JSON.stringify({ level: 'fatal', time: new Date().toISOString(), msg: 'failpoint fired', failpoint: name, action: 'panic' })}\n`);
  process.kill(process.pid, 'SIGKILL');
  process.abort(); // not reached: SIGKILL to oneself ends the process before kill() returns
}

let panicHandler: PanicHandler = defaultPanic;

function arm(name: FailpointName, term: FailpointTerm): void {
  if (term.action.kind === 'off') armed.delete(name);
  else armed.set(name, { term, left: term.count ?? Infinity });
}

/** Sets failpoints from a spec (ETCD_TS_FAILPOINTS syntax); throws FailpointSpecError and changes nothing on a bad one. */
export function setFailpoints(spec: string): void {
  const parsed = parseFailpointSpec(spec);
  for (const [name, term] of parsed) arm(name, term);
}

if (process.env[FAILPOINTS_ENV] !== undefined) {
  try {
    setFailpoints(process.env[FAILPOINTS_ENV]);
  } catch (err) {
    if (!(err instanceof FailpointSpecError)) throw err;
    envError = err;
  }
}

/** Why ETCD_TS_FAILPOINTS could not be read at start (the member refuses to start then). */
export function failpointEnvError(): FailpointSpecError | undefined {
  return envError;
}

/** Sets one failpoint to a term (text as in the spec). Throws FailpointSpecError for a bad name or term. */
export function setFailpoint(name: string, termText: string): void {
  const fp = checkName(name);
  const term = parseTerm(termText);
  checkTermFor(fp, term);
  arm(fp, term);
}

export function clearFailpoint(name: string): void {
  armed.delete(checkName(name));
}

/** Every armed failpoint and its term as written. */
export function listFailpoints(): Map<FailpointName, string> {
  return new Map([...armed].map(([n, a]) => [n, a.term.text]));
}

/** How many times each failpoint fired in this process. */
export function failpointFired(name: FailpointName): number {
  return fired.get(name) ?? 0;
}

/** Turns the sites on in a process started without the variables (an in-process simulation, unit tests). */
export function enableFailpoints(on = true): void {
  FAILPOINTS_ON = on;
  if (!on) armed.clear();
}

export function setFailpointLogger(l: FailpointLogger | undefined): void {
  logger = l;
}

/** Replaces what `panic` does (undefined: back to killing the process). */
export function setFailpointPanicHandler(h: PanicHandler | undefined): void {
  panicHandler = h ?? defaultPanic;
}

/** For tests of P%: the random source (undefined: Math.random). */
export function setFailpointRandom(r: (() => number) | undefined): void {
  random = r ?? Math.random;
}

/** The action to run now for `name`, or undefined (not armed, count used up, or the dice said no). */
function take(name: FailpointName): FailpointTerm | undefined {
  const a = armed.get(name);
  if (a === undefined) return undefined;
  if (a.term.percent !== undefined && random() * 100 >= a.term.percent) return undefined;
  if (a.left <= 0) return undefined;
  a.left--;
  if (a.left <= 0) armed.delete(name);
  fired.set(name, (fired.get(name) ?? 0) + 1);
  return a.term;
}

function report(name: FailpointName, term: FailpointTerm): void {
  const fields = { failpoint: name, action: term.text };
  if (logger) logger.warn(fields, 'failpoint fired');
  else writeSync(2, `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: 'failpoint fired', ...fields })}\n`);
}

function panic(name: FailpointName, term: FailpointTerm): never {
  if (panicHandler !== defaultPanic) report(name, term); // the default writes its own line, synchronously
  panicHandler(name);
  throw new FailpointPanic(name);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Runs what is armed for `name` up to a sleep: panic and error happen here; returns the ms to sleep, or 0. */
function fire(name: FailpointName): number {
  const term = take(name);
  if (term === undefined) return 0;
  const action = term.action;
  if (action.kind === 'panic') panic(name, term);
  report(name, term);
  if (action.kind === 'error') throw new FailpointError(name, action.message);
  return action.kind === 'sleep' ? action.ms : 0;
}

/**
 * A site in synchronous code. sleep blocks the whole process (as a stop-the-world
 * pause would): nothing else of the member runs meanwhile.
 */
export function failpoint(name: FailpointName): void {
  const ms = fire(name);
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

/** A site in asynchronous code: sleep delays only this path (await the result). */
export function failpointAsync(name: FailpointName): Promise<void> | undefined {
  const ms = fire(name);
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : undefined;
}
