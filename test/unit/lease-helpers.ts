// Shared helpers for the lease unit tests.

import { seededRandom } from '../../src/raft/index.js';
import { pino } from 'pino';
import { Lessor, type LessorOptions, type LeaseId, type MonotonicClock, toLeaseId } from '../../src/lease/index.js';
import type { LeaseHost } from '../../src/server/lease/index.js';

export class FakeClock implements MonotonicClock {
  constructor(public t = 1_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export const id = (n: number | bigint): LeaseId => toLeaseId(n);
export const k = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Records what the lessor stored, keyed by id, as the backend would hold it. */
export class MemStorage {
  readonly records = new Map<LeaseId, Uint8Array>();
  puts = 0;
  deletes = 0;
  put(leaseId: LeaseId, record: Uint8Array): void {
    this.records.set(leaseId, record);
    this.puts++;
  }
  delete(leaseId: LeaseId): void {
    this.records.delete(leaseId);
    this.deletes++;
  }
}

export function newLessor(opts: LessorOptions = {}): { lessor: Lessor; clock: FakeClock; storage: MemStorage } {
  const clock = new FakeClock();
  const storage = new MemStorage();
  const lessor = new Lessor({ clock, storage, minTtl: 1, ...opts });
  return { lessor, clock, storage };
}

/** Deterministic PRNG (the raft core's mulberry32) so a failing random test can be replayed. */
export const rng = seededRandom;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A LeaseHost for coordinator tests: a leader (id 1) with no peers to call; `over` changes any part. */
export function fakeLeaseHost(over: Partial<LeaseHost> = {}): LeaseHost {
  return {
    logger: pino({ level: 'silent' }),
    requestTimeoutMs: 1_000,
    isLeader: () => true,
    leader: () => 1n,
    propose: async () => undefined,
    waitAppliedCommitted: async () => undefined,
    confirmLeadership: async () => undefined,
    nextRequestId: () => 42n,
    callPeer: async () => {
      throw new Error('no peers');
    },
    openPeerStream: () => {
      throw new Error('no peers');
    },
    leaderChange: (ms) => pause(Math.min(ms, 20)),
    ...over,
  };
}
