// The bbolt reader and the etcd image decoder against a snapshot the real etcd
// 3.4.23 wrote at test time (snapshot-etcd-fixture.ts), and bbolt's refusals of
// files that are not (or no longer) valid.

import { rm, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BboltFile } from '../../src/snapshot/bbolt/reader.js';
import { readEtcdImage, type EtcdRevisionRecord } from '../../src/snapshot/etcd-image.js';
import { snapshotStatus } from '../../src/snapshot/status.js';
import { canRunEtcd, etcdSnapshotFixture, type EtcdSnapshotFixture } from './snapshot-etcd-fixture.js';

const RUN = canRunEtcd();

describe.runIf(RUN)('bbolt reader on a snapshot etcd 3.4.23 wrote', () => {
  let fx: EtcdSnapshotFixture;
  beforeAll(async () => {
    fx = await etcdSnapshotFixture(2000);
  }, 120_000);
  afterAll(async () => {
    if (fx) await rm(fx.dir, { recursive: true, force: true });
  });

  it('computes the status etcdctl printed (hash, revision, keys, size)', async () => {
    expect(await snapshotStatus(fx.path)).toEqual(fx.status);
  });

  it('passes the integrity check and finds etcd buckets', async () => {
    const db = await BboltFile.open(fx.path);
    try {
      expect(await db.check()).toEqual([]);
      expect(db.pageSize).toBe(4096);
      const names: string[] = [];
      for await (const e of db.entries(db.root)) names.push(Buffer.from(e.key).toString());
      expect(names).toEqual(expect.arrayContaining(['alarm', 'auth', 'authRoles', 'authUsers', 'cluster', 'key', 'lease', 'members', 'members_removed', 'meta']));
    } finally {
      await db.close();
    }
  });

  it('decodes the key history in revision order, with tombstones and the latest values etcd served', async () => {
    const img = await readEtcdImage(fx.path);
    try {
      const recs: EtcdRevisionRecord[] = [];
      for await (const r of img.revisions()) recs.push(r);
      for (let i = 1; i < recs.length; i++) {
        const a = recs[i - 1]!, b = recs[i]!;
        expect(a.revMain < b.revMain || (a.revMain === b.revMain && a.revSub < b.revSub)).toBe(true);
      }
      expect(img.lastRevision).toBe(fx.status.revision);
      expect(recs[recs.length - 1]!.revMain).toBe(fx.status.revision);
      // Compaction at 3 removed older revisions of keys rewritten later, kept their latest.
      expect(recs.every((r) => r.revMain >= fx.compactedAt || r.revMain > 1)).toBe(true);
      const tomb = recs.filter((r) => r.tombstone);
      expect(tomb.map((r) => Buffer.from(r.kv.key).toString())).toContain(fx.deletedKey);
      // Latest live revision per key = what `get --prefix` returned.
      const latest = new Map<string, EtcdRevisionRecord>();
      for (const r of recs) latest.set(Buffer.from(r.kv.key).toString('latin1'), r);
      const live = [...latest.values()].filter((r) => !r.tombstone).sort((a, b) => Buffer.compare(a.kv.key, b.kv.key));
      const served = fx.kvs.map((kv) => ({
        key: Buffer.from(kv.key, 'base64').toString('latin1'),
        create: kv.create_revision,
        mod: kv.mod_revision,
        version: kv.version,
        value: Buffer.from(kv.value ?? '', 'base64').toString('latin1'),
        lease: BigInt(kv.lease ?? 0),
      }));
      expect(live.map((r) => ({
        key: Buffer.from(r.kv.key).toString('latin1'),
        create: r.kv.createRevision,
        mod: r.kv.modRevision,
        version: r.kv.version,
        value: Buffer.from(r.kv.value).toString('latin1'),
        lease: r.kv.lease,
      }))).toEqual(served);
      expect(live.find((r) => Buffer.from(r.kv.key).toString() === 'big')!.kv.value.length).toBe(20_000);
    } finally {
      await img.close();
    }
  });

  it('decodes meta, lease, members, cluster version and auth', async () => {
    const img = await readEtcdImage(fx.path);
    try {
      expect(img.consistentIndex).toBeGreaterThan(20);
      expect(img.scheduledCompactRev).toBe(fx.compactedAt);
      expect(img.finishedCompactRev).toBe(fx.compactedAt);
      expect(img.leases).toEqual([{ id: fx.leaseId, ttl: 600, remainingTTL: 0 }]);
      expect(img.members).toHaveLength(1);
      expect(img.members[0]!.name).toBe('fx');
      expect(img.members[0]!.peerURLs[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(img.membersRemoved).toEqual([]);
      expect(img.clusterVersion).toBe('3.4.0');
      expect(img.alarms).toEqual([]);
      expect(img.auth.enabled).toBe(false);
      expect(img.auth.revision).toBeGreaterThan(0);
      expect(img.auth.users.map((u) => u.user.name)).toEqual(['u1']);
      expect(img.auth.users[0]!.user.roles).toEqual(['r1']);
      expect(img.auth.roles.map((r) => r.role.name)).toEqual(['r1']);
      expect(Buffer.from(img.auth.roles[0]!.role.permissions[0]!.key).toString()).toBe('/a');
    } finally {
      await img.close();
    }
  });

  describe('bad files get bbolt\'s errors', () => {
    const variant = async (name: string, f: (b: Buffer) => Buffer): Promise<string> => {
      const p = join(fx.dir, name);
      await writeFile(p, f(await readFile(fx.path)));
      return p;
    };

    it('not bbolt at all: invalid database', async () => {
      const p = await variant('text.db', () => Buffer.from('hello, this is not a database\n'.repeat(400)));
      await expect(BboltFile.open(p)).rejects.toThrow('invalid database');
    });

    it('shorter than a page: invalid database', async () => {
      const p = await variant('short.db', (b) => b.subarray(0, 100));
      await expect(BboltFile.open(p)).rejects.toThrow('invalid database');
    });

    it('one meta page corrupt: the other is used; both corrupt: checksum error', async () => {
      const one = await variant('meta0.db', (b) => { const c = Buffer.from(b); c[16 + 40] ^= 0xff; return c; });
      expect((await snapshotStatus(one)).hash).toBe(fx.status.hash);
      const both = await variant('meta01.db', (b) => { const c = Buffer.from(b); c[16 + 40] ^= 0xff; c[4096 + 16 + 40] ^= 0xff; return c; });
      await expect(BboltFile.open(both)).rejects.toThrow('checksum error');
    });

    it('wrong version: version mismatch', async () => {
      const p = await variant('version.db', (b) => { const c = Buffer.from(b); c[16 + 4] = 9; c[4096 + 16 + 4] = 9; return c; });
      await expect(BboltFile.open(p)).rejects.toThrow('version mismatch');
    });

    it('truncated after the metas: the walk fails, never hangs', async () => {
      const p = await variant('trunc.db', (b) => b.subarray(0, Math.floor(b.length / 2)));
      await expect(snapshotStatus(p)).rejects.toThrow(/truncated|out of bounds|invalid/);
    });
  });
});

describe('bbolt reader on hand-built trees', () => {
  // Nested buckets (etcd has none, bbolt allows them): outer (page 5) holds
  // inner (its own leaf, page 3) and tiny (inline); the root leaf is page 4.
  it('walks nested and inline buckets and checks their pages', async () => {
    const { encodeNode, metaPages } = await import('../../src/snapshot/bbolt/writer.js');
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const ps = 4096;
    const b = (s: string) => Buffer.from(s);
    const leaf = (elems: { flags: number; key: Uint8Array; value: Uint8Array }[], pgid: number) => {
      const size = 16 + elems.reduce((n, e) => n + 16 + e.key.length + e.value.length, 0);
      return encodeNode(false, elems.map((e) => ({ ...e, child: 0 })), size, ps, pgid);
    };
    const header = (root: number, inline?: Uint8Array) => {
      const h = Buffer.alloc(16 + (inline?.length ?? 0));
      h.writeBigUInt64LE(BigInt(root), 0);
      if (inline) h.set(inline, 16);
      return h;
    };
    const tinyPage = encodeNode(false, [{ flags: 0, key: b('t'), value: b('tv'), child: 0 }], 16 + 16 + 3, 0, 0);
    const inner = leaf([{ flags: 0, key: b('a'), value: b('1') }, { flags: 0, key: b('b'), value: b('2') }], 3);
    const root = leaf([{ flags: 1, key: b('outer'), value: header(5) }], 4);
    const outer = leaf([{ flags: 1, key: b('inner'), value: header(3) }, { flags: 1, key: b('tiny'), value: header(0, tinyPage) }], 5);
    const freelist = Buffer.alloc(ps);
    freelist.writeBigUInt64LE(2n, 0);
    freelist.writeUInt16LE(0x10, 8);
    const file = Buffer.concat([metaPages({ pageSize: ps, rootPgid: 4, freelistPgid: 2, pgid: 6, txid: 2n }), freelist, inner, root, outer]);
    const dir = await mkdtemp(join(tmpdir(), 'etcd-ts-bbolt-nested-'));
    const path = join(dir, 'nested.db');
    await writeFile(path, file);
    const db = await BboltFile.open(path);
    try {
      expect(await db.check()).toEqual([]);
      const outerRef = (await db.bucket('outer'))!;
      const kids: Record<string, string[]> = {};
      for await (const e of db.entries(outerRef)) {
        expect(e.isBucket).toBe(true);
        const got: string[] = [];
        for await (const x of db.entries(db.subBucket(e))) got.push(`${Buffer.from(x.key)}=${Buffer.from(x.value)}`);
        kids[Buffer.from(e.key).toString()] = got;
      }
      expect(kids).toEqual({ inner: ['a=1', 'b=2'], tiny: ['t=tv'] });
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
