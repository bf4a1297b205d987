// Configuration of one Raft member, and the defaults/validation applied to it.

import type { Storage } from './storage.js';
import type { NodeId } from './types.js';

export interface RaftLogger {
  debug(o: object, msg?: string): void;
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

export interface RaftConfig {
  id: NodeId;
  /** Ticks without hearing a leader before a follower campaigns (randomized in [e, 2e)). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be < electionTick. */
  heartbeatTick: number;
  storage: Storage;
  /** Last applied index at restart; entries above it are handed out again. */
  applied?: number;
  /** Upper bound on the bytes of entries in one append message (default 1 MiB). */
  maxSizePerMsg?: number;
  /** Upper bound on pipelined append messages per follower (default 256). */
  maxInflightMsgs?: number;
  /** Leader drops proposals once this many uncommitted payload bytes are in its log (0 = no limit). */
  maxUncommittedEntriesSize?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  /** Source of randomness in [0,1); defaults to a PRNG seeded from the member id. */
  random?: () => number;
  logger?: RaftLogger;
}

export const noopLogger: RaftLogger = {
  debug() {},
  info() {},
  warn() {},
};

/**
 * A small deterministic PRNG (mulberry32). The core must never reach for
 * Math.random: replaying a simulation seed has to reproduce every decision.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function validateConfig(c: RaftConfig): void {
  if (c.id === 0n) throw new Error('raft: cannot use none (0) as id');
  if (!(c.heartbeatTick > 0)) throw new Error('raft: heartbeat tick must be greater than 0');
  if (!(c.electionTick > c.heartbeatTick)) throw new Error('raft: election tick must be greater than heartbeat tick');
  if (c.maxInflightMsgs !== undefined && c.maxInflightMsgs <= 0) throw new Error('raft: max inflight messages must be greater than 0');
}
