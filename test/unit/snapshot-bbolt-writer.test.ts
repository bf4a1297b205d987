// The bulk writer: what it writes passes bbolt's own check (etcdctl snapshot
// status runs tx.Check), reads back identically, and a copy of a real etcd
// snapshot has the same content hash etcdctl computes for the original.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BboltFile } from '../../src/snapshot/bbolt/reader.js';
import { readEtcdImage, type EtcdImage } from '../../src/snapshot/etcd-image.js';
import { type EtcdImageSource, prepareEtcdSnapshotStream, writeEtcdSnapshotFile } from '../../src/snapshot/etcd-writer.js';
import { snapshotStatus } from '../../src/snapshot/status.js';
import { encodeKeyValue } from '../../src/mvcc/kv-codec.js';
import { encodeLeaseRecord } from '../../src/lease/record.js';
import type { LeaseId } from '../../src/lease/types.js';
import { canRunEtcd, etcdSnapshotFixture, type EtcdSnapshotFixture } from './snapshot-etcd-fixture.js';

const RUN = canRunEtcd();
const run = promisify(execFile);

async function etcdctlStatus(path: string): Promise<{ hash: number; revision: number; totalKey: number; totalSize: number }> {
  const { stdout } = await run('etcdctl', ['snapshot', 'status', path, '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 60_000 });
  return JSON.parse(stdout);
}

/** An EtcdImage read back as a writer source (a copy of an etcd file). */
function sourceOf(img: EtcdImage): EtcdImageSource {
  return {
    consistentIndex: img.consistentIndex,
    scheduledCompactRev: img.scheduledCompactRev,
    finishedCompactRev: img.finishedCompactRev,
    async *revisions() {
      let batch = [];
      for await (const r of img.revisions()) {
        batch.push(r);
        if (batch.length === 100) { yield batch; batch = []; }
      }
      yield batch;
    },
    async *leases() {
      yield img.leases.map((l) => ({ id: l.id, raw: encodeLeaseRecord({ id: l.id as LeaseId, ttl: l.ttl, remainingTtl: l.remainingTTL }) }));
    },
    members: img.members,
    membersRemoved: img.membersRemoved,
    clusterVersion: img.clusterVersion,
    alarms: img.alarms,
    auth: {
      enabled: img.auth.enabled ? true : undefined,
      revision: img.auth.revision,
      users: img.auth.users.map((u) => ({ name: Buffer.from(u.user.name), raw: u.raw })),
      roles: img.auth.roles.map((r) => ({ name: Buffer.from(r.role.name), raw: r.raw })),
    },
  };
}

/** A synthetic store: `n` keys, values from empty to several pages, history and tombstones. */
function synthetic(n: number): EtcdImageSource {
  return {
    consistentIndex: 77,
    scheduledCompactRev: 5,
    finishedCompactRev: 5,
    async *revisions() {
      let batch = [];
      for (let rev = 2; rev < n + 2; rev++) {
        const key = Buffer.from(`key/${(rev % 997).toString().padStart(4, '0')}`);
        const size = rev % 500 === 0 ? 3 * 4096 + 17 : rev % 7 === 0 ? 0 : (rev * 31) % 300;
        const tombstone = rev % 11 === 0;
        const kv = tombstone
          ? { key, createRevision: 0, modRevision: rev, version: 0, value: new Uint8Array(0), lease: 0n }
          : { key, createRevision: rev, modRevision: rev, version: 1, value: Buffer.alloc(size, rev % 256), lease: 0n };
        batch.push({ revMain: rev, revSub: 0, tombstone, raw: encodeKeyValue(kv) });
        if (batch.length === 1000) { yield batch; batch = []; }
      }
      yield batch;
    },
    async *leases() {
      yield Array.from({ length: 300 }, (_, i) => ({ id: BigInt(i + 1) * 1000n, raw: encodeLeaseRecord({ id: (BigInt(i + 1) * 1000n) as LeaseId, ttl: 60 + i, remainingTtl: 0 }) }));
    },
    members: [{ id: 0x8e9e05c52164694dn, name: 'default', peerURLs: ['http://localhost:2380'], clientURLs: ['http://localhost:2379'], isLearner: false }],
    membersRemoved: [0x1234n],
    clusterVersion: '3.4.0',
    alarms: [{ memberID: 0x8e9e05c52164694dn, alarm: 1 }],
    auth: { enabled: true, revision: 9, users: [], roles: [] },
  };
}

describe('bbolt bulk writer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-ts-bbw-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a multi-level tree with overflow pages passes the check and reads back in order', async () => {
    const path = join(dir, 'synthetic.db');
    const src = synthetic(30_000);
    const plan = await writeEtcdSnapshotFile(path, src);
    expect(plan.pgid).toBeGreaterThan(500);
    const db = await BboltFile.open(path);
    try {
      expect(await db.check()).toEqual([]);
      // Depth: root → branch → branch → leaves for 30k keys of up to 300 bytes.
      const keyRef = (await db.bucket('key'))!;
      const rootPage = await db.page(keyRef.root);
      expect(rootPage[8]).toBe(1); // branch
    } finally {
      await db.close();
    }
    const img = await readEtcdImage(path);
    try {
      let expectRev = 2;
      const want = src.revisions()[Symbol.asyncIterator]();
      let wantBatch: { raw: Uint8Array; tombstone: boolean }[] = [];
      for await (const r of img.revisions()) {
        if (wantBatch.length === 0) wantBatch = (await want.next()).value;
        const w = wantBatch.shift()!;
        expect(r.revMain).toBe(expectRev++);
        expect(r.tombstone).toBe(w.tombstone);
        expect(Buffer.compare(r.raw, w.raw)).toBe(0);
      }
      expect(expectRev).toBe(30_002);
      expect(img.lastRevision).toBe(30_001);
      expect(img.leases).toHaveLength(300);
      expect(img.leases[299]).toEqual({ id: 300_000n, ttl: 359, remainingTTL: 0 });
      expect(img.consistentIndex).toBe(77);
      expect(img.scheduledCompactRev).toBe(5);
      expect(img.finishedCompactRev).toBe(5);
      expect(img.members).toEqual(synthetic(0).members);
      expect(img.membersRemoved).toEqual([0x1234n]);
      expect(img.alarms).toEqual([{ memberID: 0x8e9e05c52164694dn, alarm: 1 }]);
      expect(img.auth).toMatchObject({ enabled: true, revision: 9 });
      expect(img.clusterVersion).toBe('3.4.0');
    } finally {
      await img.close();
    }
  });

  it('the stream carries exactly the bytes of the file, in whole pages', async () => {
    const path = join(dir, 'same.db');
    await writeEtcdSnapshotFile(path, synthetic(5000));
    const stream = await prepareEtcdSnapshotStream(synthetic(5000));
    const parts: Uint8Array[] = [];
    for await (const p of stream.bytes()) {
      expect(p.length % 4096).toBe(0);
      parts.push(p);
    }
    const streamed = Buffer.concat(parts);
    expect(streamed.length).toBe(stream.size);
    expect(Buffer.compare(streamed, await readFile(path))).toBe(0);
  });

  it('an empty store is a valid file with every bucket', async () => {
    const path = join(dir, 'empty.db');
    const src: EtcdImageSource = { ...synthetic(0), members: [], membersRemoved: [], alarms: [], clusterVersion: undefined, async *leases() {} };
    await writeEtcdSnapshotFile(path, src);
    const st = await snapshotStatus(path);
    expect(st.revision).toBe(0);
    expect(st.totalKey).toBe(1 /* consistent_index */ + 2 /* compaction marks */ + 2 /* auth */);
  });

  it('a consumer that stops early ends the source\'s scan (its iterator is released)', async () => {
    let closed = 0;
    const base = synthetic(20_000);
    const src: EtcdImageSource = {
      ...base,
      async *revisions() {
        try {
          yield* base.revisions();
        } finally {
          closed++;
        }
      },
    };
    const stream = await prepareEtcdSnapshotStream(src);
    expect(closed).toBe(1); // the planning pass ran to the end
    let pieces = 0;
    for await (const _ of stream.bytes()) if (++pieces === 50) break;
    expect(closed).toBe(2);
  });

  it('refuses keys out of order', async () => {
    const src: EtcdImageSource = {
      ...synthetic(0),
      async *revisions() {
        yield [{ revMain: 3, revSub: 0, tombstone: false, raw: new Uint8Array(0) }, { revMain: 2, revSub: 0, tombstone: false, raw: new Uint8Array(0) }];
      },
    };
    await expect(writeEtcdSnapshotFile(join(dir, 'bad.db'), src)).rejects.toThrow(/out of order/);
  });

  describe.runIf(RUN)('against etcd 3.4.23', () => {
    let fx: EtcdSnapshotFixture;
    beforeAll(async () => {
      fx = await etcdSnapshotFixture(1000);
    }, 120_000);
    afterAll(async () => {
      if (fx) await rm(fx.dir, { recursive: true, force: true });
    });

    it('a copy of etcd\'s snapshot has the hash, revision and key count etcdctl reports for the original', async () => {
      const img = await readEtcdImage(fx.path);
      const copy = join(dir, 'copy.db');
      try {
        await writeEtcdSnapshotFile(copy, sourceOf(img));
      } finally {
        await img.close();
      }
      const ours = await etcdctlStatus(copy);
      expect({ ...ours, totalSize: 0 }).toEqual({ ...fx.status, totalSize: 0 });
      expect(await snapshotStatus(copy)).toEqual(ours);
    });

    it('etcdctl snapshot status accepts a large synthetic file (bbolt\'s tx.Check passes)', async () => {
      const path = join(dir, 'synthetic-ctl.db');
      await writeEtcdSnapshotFile(path, synthetic(30_000));
      expect(await etcdctlStatus(path)).toEqual(await snapshotStatus(path));
    });
  });
});
