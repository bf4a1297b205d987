// The Cluster page's table from what the API answered: the member list, each
// reachable member's Status and /health, and the alarm list. Pure: answers in,
// rows out; a member that did not answer is shown with what the list knows.

import { idHex, int } from '../api/codec.js';
import type { AlarmMember, Member, StatusResponse } from '../api/types.js';

export interface MemberProbe {
  status: StatusResponse | undefined;
  /** /health said {"health":"true"}. */
  healthy: boolean;
  /** Why the member could not be asked (unreachable, CORS, timeout). */
  error: string | undefined;
}

export interface MemberRow {
  id: string;
  idHex: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  learner: boolean;
  leader: boolean;
  healthy: boolean;
  raftTerm: number | undefined;
  raftIndex: number | undefined;
  appliedIndex: number | undefined;
  dbSize: number | undefined;
  dbSizeInUse: number | undefined;
  version: string | undefined;
  alarms: string[];
  error: string | undefined;
}

/**
 * The leader as the members see it: the one named by the member with the
 * highest raft term that names one (an old leader cut off from the rest may
 * still name itself at an older term).
 */
export function leaderOf(probes: Iterable<MemberProbe>): string | undefined {
  let best: { term: number; leader: string } | undefined;
  for (const p of probes) {
    const leader = p.status?.leader;
    if (!leader || leader === '0') continue;
    const term = int(p.status?.raftTerm);
    if (!best || term > best.term) best = { term, leader };
  }
  return best?.leader;
}

export function memberRows(members: readonly Member[], probes: ReadonlyMap<string, MemberProbe>, alarms: readonly AlarmMember[]): MemberRow[] {
  const leader = leaderOf(probes.values());
  return members.map((m) => {
    const probe = probes.get(m.ID);
    const s = probe?.status;
    const num = (v: string | undefined): number | undefined => (s ? int(v) : undefined);
    return {
      id: m.ID,
      idHex: idHex(m.ID),
      name: m.name ?? '',
      peerUrls: m.peerURLs ?? [],
      clientUrls: m.clientURLs ?? [],
      learner: m.isLearner === true,
      leader: leader !== undefined && leader === m.ID,
      healthy: probe?.healthy === true,
      raftTerm: num(s?.raftTerm),
      raftIndex: num(s?.raftIndex),
      appliedIndex: num(s?.raftAppliedIndex),
      dbSize: num(s?.dbSize),
      dbSizeInUse: num(s?.dbSizeInUse),
      version: s?.version,
      alarms: alarms.filter((a) => a.memberID === m.ID).map((a) => a.alarm ?? 'NONE'),
      error: probe?.error,
    };
  });
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
