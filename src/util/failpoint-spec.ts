// The failpoint language, modelled on gofail's terms (pure: parsing only).
//
//   ETCD_TS_FAILPOINTS="raftBeforeSave=panic,beforeApply=50%sleep(100)"
//
// A term is [P%][N*]action:
//   panic             the process dies at once, as with kill -9
//   sleep(ms)         stall for ms milliseconds (also sleep("1s"), sleep("250ms"))
//   error(msg)        the site fails with msg (only at sites that can fail)
//   off               nothing (the failpoint is disabled)
//   N*action          only the first N times the failpoint is reached
//   P%action          with probability P percent each time (checked before N)
// Failpoints are separated by ',' or ';' (gofail's GOFAIL_FAILPOINTS uses ';'); a
// separator inside parentheses or quotes belongs to the action.

import { FAILPOINT_SITES, type FailpointName } from './failpoint-sites.js';

export type FailpointAction =
  | { kind: 'off' }
  | { kind: 'panic' }
  | { kind: 'sleep'; ms: number }
  | { kind: 'error'; message: string };

export interface FailpointTerm {
  action: FailpointAction;
  /** Fire at most this many times (undefined: no limit). */
  count?: number;
  /** Fire with this probability in percent, 0 < p <= 100 (undefined: always). */
  percent?: number;
  /** The term as written (normalised), for listings and log lines. */
  text: string;
}

export class FailpointSpecError extends Error {}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;

/** A sleep argument: a bare number is ms (gofail), a quoted Go duration like "1s" or "250ms" too. */
function parseSleep(arg: string, term: string): number {
  const m = DURATION.exec(unquote(arg).trim());
  if (!m) throw new FailpointSpecError(`failpoint term "${term}": sleep wants milliseconds or a duration like "1s", not "${arg}"`);
  const n = Number(m[1]);
  const ms = m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
  if (!Number.isFinite(ms) || ms > 3_600_000) throw new FailpointSpecError(`failpoint term "${term}": sleep of ${arg} is out of range (at most 1h)`);
  return ms;
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

function parseAction(text: string, term: string): FailpointAction {
  const m = /^([a-z]+)(?:\((.*)\))?$/s.exec(text.trim());
  if (!m) throw new FailpointSpecError(`failpoint term "${term}": cannot read the action "${text}" (want panic, sleep(ms), error(msg) or off)`);
  const [, verb, arg] = m;
  switch (verb) {
    case 'off':
      return { kind: 'off' };
    case 'panic':
      return { kind: 'panic' };
    case 'sleep':
      if (arg === undefined) throw new FailpointSpecError(`failpoint term "${term}": sleep needs a duration, e.g. sleep(100)`);
      return { kind: 'sleep', ms: parseSleep(arg, term) };
    case 'error':
      return { kind: 'error', message: arg === undefined || unquote(arg) === '' ? 'failpoint error' : unquote(arg) };
    default:
      throw new FailpointSpecError(`failpoint term "${term}": unknown action "${verb}" (want panic, sleep(ms), error(msg) or off)`);
  }
}

/** One term, [P%][N*]action. Throws FailpointSpecError with a message naming what is wrong. */
export function parseTerm(input: string): FailpointTerm {
  const term = input.trim();
  if (term === '') throw new FailpointSpecError('failpoint term is empty (want panic, sleep(ms), error(msg) or off)');
  let rest = term;
  let percent: number | undefined;
  let count: number | undefined;
  const p = /^(\d+(?:\.\d+)?)%/.exec(rest);
  if (p) {
    percent = Number(p[1]);
    if (!(percent > 0 && percent <= 100)) throw new FailpointSpecError(`failpoint term "${term}": probability ${p[1]}% is not in (0, 100]`);
    rest = rest.slice(p[0].length);
  }
  const c = /^(\d+)\*/.exec(rest);
  if (c) {
    count = Number(c[1]);
    if (!Number.isSafeInteger(count) || count < 1) throw new FailpointSpecError(`failpoint term "${term}": count ${c[1]} must be at least 1`);
    rest = rest.slice(c[0].length);
  }
  const action = parseAction(rest, term);
  return { action, ...(count !== undefined ? { count } : {}), ...(percent !== undefined ? { percent } : {}), text: term };
}

/** Splits on ',' and ';' outside parentheses and quotes. */
function splitTopLevel(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0, quoted = false, start = 0;
  for (let i = 0; i < spec.length; i++) {
    const ch = spec[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth = Math.max(0, depth - 1);
    else if (!quoted && depth === 0 && (ch === ',' || ch === ';')) {
      parts.push(spec.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(spec.slice(start));
  return parts.map((s) => s.trim()).filter((s) => s !== '');
}

export function isFailpointName(name: string): name is FailpointName {
  return Object.hasOwn(FAILPOINT_SITES, name);
}

/** Checks that `term` may be set on `name` (error only where the site can fail). */
export function checkTermFor(name: FailpointName, term: FailpointTerm): void {
  if (term.action.kind === 'error' && !FAILPOINT_SITES[name].canFail) {
    throw new FailpointSpecError(`failpoint ${name} cannot fail with error(...): its site has no failure path (use panic or sleep)`);
  }
}

/** A failpoint name, checked against the known sites (a typo would otherwise never fire). */
export function checkName(name: string): FailpointName {
  if (!isFailpointName(name)) {
    throw new FailpointSpecError(`unknown failpoint "${name}"; known: ${Object.keys(FAILPOINT_SITES).join(', ')}`);
  }
  return name;
}

/** The whole ETCD_TS_FAILPOINTS value: name=term pairs. Throws FailpointSpecError. */
export function parseFailpointSpec(spec: string): Map<FailpointName, FailpointTerm> {
  const out = new Map<FailpointName, FailpointTerm>();
  for (const part of splitTopLevel(spec)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FailpointSpecError(`ETCD_TS_FAILPOINTS: "${part}" is not name=action`);
    const name = checkName(part.slice(0, eq).trim());
    if (out.has(name)) throw new FailpointSpecError(`ETCD_TS_FAILPOINTS: failpoint ${name} is set twice`);
    const term = parseTerm(part.slice(eq + 1));
    checkTermFor(name, term);
    out.set(name, term);
  }
  return out;
}
