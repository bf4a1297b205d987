// etcdctl as the dashboard tests' witness: what the page shows is compared with what
// etcdctl 3.4 prints for the same cluster (member ids and the leader from
// `endpoint status -w json`, keys from `get -w json`, leases from `lease list`).

import { expect } from 'vitest';
import { parseJsonBigIds, waitFor } from './cluster.js';
import { etcdctl, type CtlResult } from './etcd-process.js';
import type { Member } from './member.js';

export const describeCtl = (r: CtlResult): string => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Runs etcdctl through a member; expects exit 0; returns stdout. */
export async function ctlOk(m: Member, args: string[], stdin = ''): Promise<string> {
  const r = await etcdctl(m.clientPort, args, stdin);
  expect(r.code, `etcdctl ${args.join(' ')} via ${m.name}: ${describeCtl(r)}`).toBe(0);
  return r.stdout;
}

/** Member ids as etcdctl prints them in its tables: lowercase hex, padded to 16 digits as the page shows them. */
export const hexId = (id: bigint | string): string => BigInt(id).toString(16).padStart(16, '0');

interface CtlStatus {
  Endpoint: string;
  Status: { header: { member_id: string }; leader: string; raftIndex: string };
}

export interface ClusterView {
  /** Member name → its id (16-digit hex). */
  ids: Map<string, string>;
  /** The leader's name, as every given member reports it (they agree). */
  leader: string;
}

/**
 * `endpoint status -w json` over the given members, once all of them name the same
 * leader (bounded): each member's id, and the leader's name.
 */
export async function clusterView(members: Member[], timeoutMs = 15_000, notLeader?: string): Promise<ClusterView> {
  const eps = members.map((m) => m.endpoint).join(',');
  return waitFor(`one leader agreed by ${members.map((m) => m.name).join(',')} (etcdctl endpoint status)`, timeoutMs, async () => {
    const r = await etcdctl(members[0]!.clientPort, [`--endpoints=${eps}`, 'endpoint', 'status', '-w', 'json']);
    if (r.code !== 0) throw new Error(describeCtl(r));
    const statuses = parseJsonBigIds(r.stdout) as CtlStatus[];
    const ids = new Map<string, string>();
    const byId = new Map<string, string>();
    for (const s of statuses) {
      const m = members.find((x) => s.Endpoint.endsWith(x.endpoint));
      if (!m) continue;
      ids.set(m.name, hexId(s.Status.header.member_id));
      byId.set(hexId(s.Status.header.member_id), m.name);
    }
    const leaders = new Set(statuses.map((s) => String(s.Status.leader)));
    if (ids.size !== members.length || leaders.size !== 1) return undefined;
    const leader = byId.get(hexId([...leaders][0]!));
    if (leader === undefined || leader === notLeader) return undefined;
    return { ids, leader };
  }, 200);
}

export interface CtlKv {
  key: string;
  value: string;
  create_revision: number;
  mod_revision: number;
  version: number;
  lease?: number | string;
}

/** `get <key> -w json`: the key's record (key and value decoded from base64), or undefined. */
export async function ctlGetKv(m: Member, key: string): Promise<CtlKv | undefined> {
  const out = parseJsonBigIds(await ctlOk(m, ['get', key, '-w', 'json'])) as { kvs?: CtlKv[] };
  const kv = out.kvs?.[0];
  if (!kv) return undefined;
  return { ...kv, key: Buffer.from(kv.key, 'base64').toString(), value: Buffer.from(kv.value, 'base64').toString() };
}
