// Reading etcd 3.4's own WAL and .snap files, made at test time by the real etcd
// 3.4.23: records and CRC chain, the snapshot marker, entries after it, payloads
// (v3 requests, v2 member attributes, conf changes), and damage.
import { copyFile, cp, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeConfChange } from '../../src/raft/codec.js';
import { EntryType } from '../../src/raft/types.js';
import {
  classifyPayload,
  etcdSnapFilesNewestFirst,
  EtcdWalCorruptError,
  membersFromV2Store,
  readEtcdWal,
  walFileNames,
} from '../../src/snapshot/etcd-wal/index.js';
import { etcdctl, HAVE_ETCD, IN_CI } from '../e2e/helpers/etcd-process.js';
import { Member } from '../e2e/helpers/member.js';

if (IN_CI && !HAVE_ETCD) throw new Error('etcd 3.4.23 must be on PATH in CI');

describe.skipIf(!HAVE_ETCD)('etcd 3.4 WAL and snap files', () => {
  let etcd: Member;
  let dataDir: string;
  let memberIdHex: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'etcd-wal-'));
    etcd = await Member.create({ impl: 'etcd', name: 'w1', dataDir, extraArgs: ['--snapshot-count', '10'] });
    await etcd.start();
    for (let i = 0; i < 14; i++) {
      const r = await etcdctl(etcd.clientPort, ['put', `k${i}`, `v${i}`]);
      expect(r.code, r.stderr).toBe(0);
    }
    const lease = await etcdctl(etcd.clientPort, ['lease', 'grant', '300']);
    expect(lease.code, lease.stderr).toBe(0);
    const list = await etcdctl(etcd.clientPort, ['member', 'list']);
    memberIdHex = list.stdout.split(',')[0]!.trim();
    await etcd.stop(); // etcd re-raises SIGTERM after its clean stop: no exit code to check
  }, 60_000);

  afterAll(async () => {
    await etcd?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const walDir = () => join(dataDir, 'member', 'wal');
  const snapDir = () => join(dataDir, 'member', 'snap');

  it('reads every entry from the start: conf change, v2 attributes, v3 puts and a lease grant', async () => {
    const wal = await readEtcdWal(walDir());
    expect(wal.memberId.toString(16)).toBe(memberIdHex);
    expect(wal.clusterId).not.toBe(0n);
    expect(wal.entries[0]!.index).toBe(1);
    wal.entries.forEach((e, i) => expect(e.index).toBe(i + 1));
    expect(wal.hardState.commit).toBe(wal.entries[wal.entries.length - 1]!.index);
    const first = wal.entries[0]!;
    expect(first.type).toBe(EntryType.ConfChange);
    const cc = decodeConfChange(first.data);
    expect(cc.nodeId.toString(16)).toBe(memberIdHex);
    expect(JSON.parse(Buffer.from(cc.context).toString())).toMatchObject({ peerURLs: [etcd.peerUrl] });

    const payloads = wal.entries.filter((e) => e.type === EntryType.Normal).map((e) => classifyPayload(e.data));
    const attrs = payloads.find((p) => p.kind === 'v2' && p.request.path.endsWith('/attributes'));
    expect(attrs).toMatchObject({ kind: 'v2', request: { method: 'PUT', path: `/0/members/${memberIdHex}/attributes` } });
    expect(JSON.parse((attrs as { request: { val: string } }).request.val)).toEqual({ name: 'w1', clientURLs: [etcd.clientUrl] });
    const puts = payloads.flatMap((p) => (p.kind === 'v3' && p.request.put ? [Buffer.from(p.request.put.key).toString()] : []));
    expect(puts).toEqual(Array.from({ length: 14 }, (_, i) => `k${i}`));
    expect(payloads.some((p) => p.kind === 'v3' && p.request.leaseGrant?.TTL === 300n)).toBe(true);
    expect(payloads.some((p) => p.kind === 'empty')).toBe(true);
  });

  it('finds the newest .snap, its marker in the WAL, and the members in its v2 store', async () => {
    const snaps = await etcdSnapFilesNewestFirst(snapDir());
    expect(snaps.length).toBeGreaterThan(0);
    const newest = snaps[0]!.snapshot;
    expect(newest.metadata.index).toBeGreaterThanOrEqual(10);
    expect(newest.metadata.confState.voters.map((v) => v.toString(16))).toEqual([memberIdHex]);
    const { members, removed } = membersFromV2Store(newest.data);
    expect(removed).toEqual([]);
    expect(members).toEqual([{ id: BigInt('0x' + memberIdHex), name: 'w1', peerURLs: [etcd.peerUrl], clientURLs: [etcd.clientUrl], isLearner: false }]);

    const from = { index: newest.metadata.index, term: newest.metadata.term };
    const wal = await readEtcdWal(walDir(), from);
    expect(wal.snapshots).toContainEqual(from);
    expect(wal.entries[0]!.index).toBe(from.index + 1);
    await expect(readEtcdWal(walDir(), { index: from.index, term: from.term + 7 })).rejects.toThrow(/wal: snapshot mismatch/);
    await expect(readEtcdWal(walDir(), { index: from.index + 1, term: from.term })).rejects.toThrow(/wal: snapshot not found/);
  });

  it('a flipped byte inside a record is corruption naming the file and offset', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-wal-bad-'));
    try {
      await cp(walDir(), dir, { recursive: true });
      const [name] = await walFileNames(dir);
      const file = join(dir, name!.name);
      const buf = await readFile(file);
      // Flip a byte of the value of the put of k7 (the record's CRC no longer matches).
      const at = buf.indexOf(Buffer.from('v7'));
      expect(at).toBeGreaterThan(0);
      buf[at] ^= 0x01;
      await writeFile(file, buf);
      const err = await readEtcdWal(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EtcdWalCorruptError);
      expect((err as Error).message).toMatch(new RegExp(`etcd WAL .*${name!.name} is corrupt at offset \\d+: walpb: crc mismatch`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a torn last record ends the log there, as etcd repairs it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-wal-torn-'));
    try {
      await cp(walDir(), dir, { recursive: true });
      const whole = await readEtcdWal(dir);
      const names = await walFileNames(dir);
      const file = join(dir, names[names.length - 1]!.name);
      const buf = await readFile(file);
      // The valid data ends where the zero padding of the preallocated segment begins.
      let end = buf.length;
      while (end > 0 && buf[end - 1] === 0) end--;
      await truncate(file, end - 3);
      const torn = await readEtcdWal(dir);
      expect(torn.tornTail?.file).toBe(file);
      // The last record (a HardState or an entry) is gone; what is left is a prefix of the log.
      expect(torn.entries.length).toBeLessThanOrEqual(whole.entries.length);
      expect(torn.entries.map((e) => e.index)).toEqual(whole.entries.slice(0, torn.entries.length).map((e) => e.index));
      expect(torn.hardState.commit).toBeLessThanOrEqual(torn.entries[torn.entries.length - 1]!.index);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a damaged .snap is skipped with etcd\'s reason and the next newest used', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-snap-bad-'));
    try {
      const names = (await readdir(snapDir())).filter((n) => n.endsWith('.snap')).sort();
      for (const n of names) await copyFile(join(snapDir(), n), join(dir, n));
      const newest = join(dir, names[names.length - 1]!);
      const buf = await readFile(newest);
      buf[buf.length - 5] ^= 0xff;
      await writeFile(newest, buf);
      const skipped: string[] = [];
      const snaps = await etcdSnapFilesNewestFirst(dir, (f, why) => skipped.push(`${f}: ${why}`));
      expect(skipped).toEqual([`${newest}: snap: crc mismatch (${newest})`]);
      expect(snaps.map((s) => s.file)).not.toContain(newest);
      expect(snaps.length).toBe(names.length - 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
