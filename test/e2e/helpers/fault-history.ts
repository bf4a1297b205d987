// Records what the fault suite's clients saw in the checkers' format
// (test/checkers/history.ts): every call with its real call and return times
// (ms since the recorder started, performance.now), its request, and its
// response or error, through a HistoryClient (history-client.ts). An error that
// proves the request had no effect is `definite`; any other (a deadline, a lost
// connection, a timeout inside the member) leaves the outcome unknown and the
// return time Infinity.

import type * as pb from '../../../src/pb/types.js';
import type { Operation, Request, Response, WatchEvent, WatchRecord } from '../../checkers/history.js';
import { kvFromPb, type HistoryClient } from './history-client.js';

export function toWatchEvent(e: pb.Event): WatchEvent {
  const kv = kvFromPb(e.kv!);
  const prev = e.prevKv ? { prevKv: kvFromPb(e.prevKv) } : {};
  if (e.type === 1) return { type: 'delete', kv: { ...kv, value: '', createRevision: 0, version: 0, lease: '0' }, ...prev };
  return { type: 'put', kv, ...prev };
}

/**
 * A member that refused the connection never saw the request (UNAVAILABLE, but
 * nothing was sent): definite, which keeps the calls made while a member is down
 * out of the search's unknowns.
 */
function neverSent(res: Response): boolean {
  return res.kind === 'error' && /No connection established|ECONNREFUSED/.test(res.message);
}

/** The clients a recorder calls through: one member's. */
export interface MemberClients {
  member: string;
  client: HistoryClient;
}

export class HistoryRecorder {
  readonly operations: Operation[] = [];
  readonly watches: WatchRecord[] = [];
  private nextOp = 0;
  private nextWatch = 0;
  private readonly t0 = performance.now();

  now(): number {
    return performance.now() - this.t0;
  }

  newWatchId(): number {
    return this.nextWatch++;
  }

  /** Issues `request` through `c` as `client` and records it; resolves with the recorded response (never rejects). */
  async call(client: number, c: MemberClients, request: Request): Promise<Response> {
    const call = this.now();
    let response = await c.client.run(request);
    if (response.kind === 'error' && !response.definite && neverSent(response)) response = { ...response, definite: true };
    const ret = response.kind === 'error' && !response.definite ? Infinity : this.now();
    this.operations.push({ id: this.nextOp++, client, member: c.member, call, return: ret, request, response });
    return response;
  }
}

/** Histories hold Infinity (unknown return); JSON has no Infinity, so it is written as the string "Infinity". */
export function historyJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), 1);
}
