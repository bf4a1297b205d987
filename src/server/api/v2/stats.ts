// /v2/stats/store, /v2/stats/self and /v2/stats/leader with the fields etcd
// returns (etcdserver/api/v2stats and v2store/stats.go). Store counters count the
// v2 requests this member served (etcd's v2 store counted its writes on every
// member as they were applied; with the data in the v3 store there is no v2
// apply to count, so these are this member's own answers).

import type { ClusterMember, ServerInfo } from '../ports.js';

export const STORE_STAT_FIELDS = [
  'getsSuccess', 'getsFail', 'setsSuccess', 'setsFail', 'deleteSuccess', 'deleteFail', 'updateSuccess', 'updateFail',
  'createSuccess', 'createFail', 'compareAndSwapSuccess', 'compareAndSwapFail', 'compareAndDeleteSuccess',
  'compareAndDeleteFail', 'expireCount', 'watchers',
] as const;

export type StoreStatField = (typeof STORE_STAT_FIELDS)[number];

/** Which counters an operation moves, by its v2 action. */
const COUNTERS: Record<string, [StoreStatField, StoreStatField]> = {
  get: ['getsSuccess', 'getsFail'],
  set: ['setsSuccess', 'setsFail'],
  delete: ['deleteSuccess', 'deleteFail'],
  update: ['updateSuccess', 'updateFail'],
  create: ['createSuccess', 'createFail'],
  compareAndSwap: ['compareAndSwapSuccess', 'compareAndSwapFail'],
  compareAndDelete: ['compareAndDeleteSuccess', 'compareAndDeleteFail'],
};

export class StoreStats {
  private readonly counts = new Map<StoreStatField, number>(STORE_STAT_FIELDS.map((f) => [f, 0]));

  record(op: string, ok: boolean): void {
    const c = COUNTERS[op];
    if (c) this.add(ok ? c[0] : c[1], 1);
  }

  add(field: StoreStatField, n: number): void {
    this.counts.set(field, this.counts.get(field)! + n);
  }

  toJSON(): Record<StoreStatField, number> {
    return Object.fromEntries(this.counts) as Record<StoreStatField, number>;
  }
}

/** Go's time.Duration.String() of a span in milliseconds. */
export function goDuration(ms: number): string {
  let ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  const neg = ns < 0;
  if (neg) ns = -ns;
  const frac = (v: number, unit: number): string => {
    const whole = Math.floor(v / unit);
    const rest = v % unit;
    const digits = String(unit).length - 1;
    const f = rest === 0 ? '' : '.' + String(rest).padStart(digits, '0').replace(/0+$/, '');
    return `${whole}${f}`;
  };
  let out: string;
  if (ns < 1e3) out = `${ns}ns`;
  else if (ns < 1e6) out = `${frac(ns, 1e3)}µs`;
  else if (ns < 1e9) out = `${frac(ns, 1e6)}ms`;
  else {
    const h = Math.floor(ns / 3.6e12);
    const m = Math.floor((ns % 3.6e12) / 6e10);
    const s = frac(ns % 6e10, 1e9);
    out = (h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m` : '') + `${s}s`;
  }
  return (neg ? '-' : '') + out;
}

const hexId = (id: bigint): string => id.toString(16);

export interface SelfStatsSource {
  info: Pick<ServerInfo, 'memberId' | 'leader'>;
  members(): ClusterMember[];
  /** When this member started, and when it saw the current leader elected (epoch ms). */
  startedAtMs: number;
  leaderSinceMs(): number;
  now?: () => number;
}

/** etcd's ServerStats JSON (v2stats/server.go); append counters are not kept by etcd-ts and read 0. */
export function selfStats(src: SelfStatsSource, time: (d: Date) => string): Record<string, unknown> {
  const now = (src.now ?? Date.now)();
  const id = src.info.memberId;
  const leader = src.info.leader;
  const name = src.members().find((m) => m.id === id)?.name ?? '';
  const since = src.leaderSinceMs();
  return {
    name,
    id: hexId(id),
    state: leader === 0n ? 'StateCandidate' : leader === id ? 'StateLeader' : 'StateFollower',
    startTime: time(new Date(src.startedAtMs)),
    leaderInfo: { leader: leader === 0n ? '' : hexId(leader), uptime: goDuration(now - since), startTime: time(new Date(since)) },
    recvAppendRequestCnt: 0,
    sendAppendRequestCnt: 0,
  };
}

/** etcd's LeaderStats JSON; only the leader answers (etcd: 403 "not current leader" elsewhere). */
export function leaderStats(src: SelfStatsSource): Record<string, unknown> | undefined {
  const id = src.info.memberId;
  if (src.info.leader !== id) return undefined;
  const followers: Record<string, unknown> = {};
  for (const m of src.members()) {
    if (m.id === id) continue;
    followers[hexId(m.id)] = {
      latency: { current: 0, average: 0, standardDeviation: 0, minimum: 0, maximum: 0 },
      counts: { fail: 0, success: 0 },
    };
  }
  return { leader: hexId(id), followers };
}
