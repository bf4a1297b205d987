// Shared steps of the etcd → etcd-ts tests (restore from a snapshot, in-place
// migration): the history written through a real etcd 3.4.23 (keys with several
// revisions, a delete, a compaction, a lease with keys, a user and a role), what a
// member serves of it through etcdctl, and a group of members on given data dirs.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { etcdctl } from './etcd-process.js';
import { freePort, Member } from './member.js';

async function ctlAs(port: number, args: string[], stdin = ''): Promise<string> {
  const r = await etcdctl(port, args, stdin, 60_000);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Writes the history through the member at `port`; returns the lease id (hex). */
export async function writeHistory(port: number): Promise<string> {
  const puts: string[] = [];
  for (let i = 0; i < 40; i++) puts.push(`put key/${String(i).padStart(3, '0')} value-${i}`);
  await ctlAs(port, ['txn'], `\n${puts.join('\n')}\n\n\n`);
  for (let i = 0; i < 4; i++) await ctlAs(port, ['put', 'key/001', `rewrite-${i}`]);
  await ctlAs(port, ['del', 'key/002']);
  await ctlAs(port, ['put', 'key/003', 'before-compaction']);
  await ctlAs(port, ['compact', '3']);
  await ctlAs(port, ['put', 'key/003', 'after-compaction']);
  const lease = /lease ([0-9a-f]+) granted/.exec(await ctlAs(port, ['lease', 'grant', '900']))![1]!;
  await ctlAs(port, ['put', 'leased/a', 'la', `--lease=${lease}`]);
  await ctlAs(port, ['put', 'leased/b', 'lb', `--lease=${lease}`]);
  await ctlAs(port, ['lease', 'grant', '1200']); // a lease without keys
  await ctlAs(port, ['role', 'add', 'reader']);
  await ctlAs(port, ['role', 'grant-permission', 'reader', 'read', 'key/', '--prefix=true']);
  await ctlAs(port, ['user', 'add', 'alice:secret']);
  await ctlAs(port, ['user', 'grant-role', 'alice', 'reader']);
  return lease;
}

export interface Served {
  /** `get --prefix "" -w json` without the header's ids and term (lease ids kept exact). */
  kvs: unknown;
  revision: number;
  leases: string[];
  users: string;
  roles: string;
  role: string;
  history: string;
}

/** What the member at `port` serves of that history (`auth`: --user flags once auth is on). */
export async function served(port: number, auth: string[] = []): Promise<Served> {
  const ctl = (p: number, args: string[]): Promise<string> => ctlAs(p, [...auth, ...args]);
  const got = JSON.parse((await ctl(port, ['get', '', '--prefix', '-w', 'json'])).replace(/"(lease|cluster_id|member_id)":(\d+)/g, '"$1":"$2"')) as {
    header: { revision: number };
    kvs: unknown;
  };
  const leases = (await ctl(port, ['lease', 'list'])).split('\n').slice(1).filter((l) => l !== '').sort();
  return {
    kvs: got.kvs,
    revision: got.header.revision,
    leases,
    users: await ctl(port, ['user', 'list']),
    roles: await ctl(port, ['role', 'list']),
    role: await ctl(port, ['role', 'get', 'reader']),
    // Older revisions than the compaction's are gone; the ones after it are served.
    history: await ctl(port, ['get', 'key/001', '--rev=5', '-w', 'json']).then((s) => s.replace(/"header":\{[^}]*\},/, '')),
  };
}

/** Members named a, b, c… on fresh ports, one data dir each, that form one cluster. */
export async function membersOn(impl: 'etcd' | 'etcd-ts', dataDirs: string[], ports?: { client: number; peer: number }[]): Promise<Member[]> {
  const ps = ports ?? (await Promise.all(dataDirs.map(async () => ({ client: await freePort(), peer: await freePort() }))));
  const names = dataDirs.map((_, i) => String.fromCharCode(97 + i));
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ps[i]!.peer}`).join(',');
  return Promise.all(
    dataDirs.map((dataDir, i) =>
      Member.create({ impl, name: names[i]!, dataDir, clientPort: ps[i]!.client, peerPort: ps[i]!.peer, initialCluster, startTimeoutMs: 60_000 }),
    ),
  );
}

/** `endpoint hashkv` of each member (its hash only). */
export async function hashKvs(ports: number[]): Promise<string[]> {
  return Promise.all(ports.map(async (p) => (await ctlAs(p, ['endpoint', 'hashkv'])).split(',')[1]!.trim()));
}

export { ctlAs as ctl };

/** Every file under `dir` with its SHA-256 (to show etcd's files were kept untouched). */
export async function fileHashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return out;
}
