// Builds snapshot fixtures by running the real etcd 3.4.23 at test time (no
// binary blobs in the repo): history with a delete and a compaction, a value
// large enough to need overflow pages, a lease with a key, a user and a role,
// then `etcdctl snapshot save` and what etcdctl says about it.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdctl, requireEtcdctl, startMember, stopMember, HAVE_ETCD, IN_CI } from '../e2e/helpers/etcd-process.js';

export interface EtcdSnapshotFixture {
  dir: string;
  path: string;
  /** `etcdctl snapshot status -w json` of the file. */
  status: { hash: number; revision: number; totalKey: number; totalSize: number };
  /** `etcdctl get "" --prefix -w json` at snapshot time. */
  kvs: { key: string; create_revision: number; mod_revision: number; version: number; value: string; lease?: string }[];
  leaseId: bigint;
  compactedAt: number;
  deletedKey: string;
}

export function canRunEtcd(): boolean {
  if (HAVE_ETCD && requireEtcdctl()) return true;
  if (IN_CI) throw new Error('etcd and etcdctl 3.4 must be on PATH in CI');
  return false;
}

async function ctl(port: number, args: string[], stdin = ''): Promise<string> {
  const r = await etcdctl(port, args, stdin, 60_000);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Runs etcd, writes `keys` keys (and the rest), saves a snapshot into a fresh temp dir. */
export async function etcdSnapshotFixture(keys = 300): Promise<EtcdSnapshotFixture> {
  const m = await startMember({ impl: 'etcd', name: 'fx' });
  try {
    const port = m.clientPort;
    // One etcdctl process per put would take minutes; `txn` takes many puts at once.
    const filler = 'x'.repeat(100);
    for (let i = 0; i < keys; i += 100) {
      const puts: string[] = [];
      for (let j = i; j < Math.min(keys, i + 100); j++) puts.push(`put k${String(j).padStart(5, '0')} "v${j}-${filler}"`);
      await ctl(port, ['txn'], `\n${puts.join("\n")}\n\n\n`);
    }
    for (let i = 0; i < 5; i++) await ctl(port, ['put', 'k00001', `rewrite-${i}`]);
    await ctl(port, ['put', 'big', 'y'.repeat(20_000)]);
    await ctl(port, ['del', 'k00002']);
    const grant = await ctl(port, ['lease', 'grant', '600']);
    const leaseId = BigInt('0x' + /lease ([0-9a-f]+) granted/.exec(grant)![1]!);
    await ctl(port, ['put', 'leased', 'v', `--lease=${leaseId.toString(16)}`]);
    const compactedAt = 3;
    await ctl(port, ['compact', String(compactedAt)]);
    await ctl(port, ['role', 'add', 'r1']);
    await ctl(port, ['role', 'grant-permission', 'r1', 'read', '/a', '/b']);
    await ctl(port, ['user', 'add', 'u1:pw']);
    await ctl(port, ['user', 'grant-role', 'u1', 'r1']);
    // Lease ids exceed 2^53: kept as strings, not parsed into doubles.
    const kvs = (JSON.parse((await ctl(port, ['get', '', '--prefix', '-w', 'json'])).replace(/"lease":(\d+)/g, '"lease":"$1"')) as { kvs: EtcdSnapshotFixture['kvs'] }).kvs;
    const dir = await mkdtemp(join(tmpdir(), 'etcd-ts-snapfx-'));
    const path = join(dir, 'etcd.db');
    await ctl(port, ['snapshot', 'save', path]);
    const status = JSON.parse(await ctl(port, ['snapshot', 'status', path, '-w', 'json'])) as EtcdSnapshotFixture['status'];
    return { dir, path, status, kvs, leaseId, compactedAt, deletedKey: 'k00002' };
  } finally {
    await stopMember(m);
  }
}
