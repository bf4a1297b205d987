// Watch with the official etcdctl (3.4) against a three-member bin/etcd-ts
// cluster — writes through one member, watches through another — compared with
// what etcd 3.4.23 prints for the same sequence.
//
// EXPECTED below was recorded from etcd 3.4.23 (one member, fresh data dir) with
// `npx vite-node test/e2e/helpers/record-watch.ts`, normalised by
// helpers/watch-sequence.ts (member/cluster ids, raft terms). When etcd 3.4 is on
// PATH the same sequence also runs against it, which keeps the literals honest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, MaintenanceClient, waitFor } from './helpers/cluster.js';
import { etcdIs34, HAVE_ETCDCTL, requireEtcdctl, startMember, stopMember, type Member } from './helpers/etcd-process.js';
import { label, runStep, STEPS, type Endpoints, type Expected } from './helpers/watch-sequence.js';

const EXPECTED: Expected[] = [
  { cmd: "put foo bar", code: 0,
    stdout: ["OK\n"],
    stderr: "" },
  { cmd: "put foo1 bar1", code: 0,
    stdout: ["OK\n"],
    stderr: "" },
  { cmd: "put zoo z", code: 0,
    stdout: ["OK\n"],
    stderr: "" },
  { cmd: "put foo bar2", code: 0,
    stdout: ["OK\n"],
    stderr: "" },
  { cmd: "del foo1", code: 0,
    stdout: ["1\n"],
    stderr: "" },
  { cmd: "txn -i <<\"\\nput foo2 x\\nput foo3 y\\n\\n\\n\"", code: 0,
    stdout: ["compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\nSUCCESS\n\nOK\n\nOK\n"],
    stderr: "" },
  { cmd: "watch foo --rev 2", code: null,
    stdout: ["PUT\nfoo\nbar\nPUT\nfoo\nbar2\n"],
    stderr: "" },
  { cmd: "watch foo --prefix --rev 1", code: null,
    stdout: ["PUT\nfoo\nbar\nPUT\nfoo1\nbar1\nPUT\nfoo\nbar2\nDELETE\nfoo1\n\nPUT\nfoo2\nx\nPUT\nfoo3\ny\n"],
    stderr: "" },
  { cmd: "watch foo --prefix --rev 2 --prev-kv", code: null,
    stdout: ["PUT\nfoo\nbar\nPUT\nfoo1\nbar1\nPUT\nfoo\nbar\nfoo\nbar2\nDELETE\nfoo1\nbar1\nfoo1\n\nPUT\nfoo2\nx\nPUT\nfoo3\ny\n"],
    stderr: "" },
  { cmd: "watch foo --rev 2 -w json", code: null,
    stdout: ["{\"Header\":{\"cluster_id\":ID,\"member_id\":ID,\"revision\":7,\"raft_term\":TERM},\"Events\":[{\"kv\":{\"key\":\"Zm9v\",\"create_revision\":2,\"mod_revision\":2,\"version\":1,\"value\":\"YmFy\"}},{\"kv\":{\"key\":\"Zm9v\",\"create_revision\":2,\"mod_revision\":5,\"version\":2,\"value\":\"YmFyMg==\"}}],\"CompactRevision\":0,\"Canceled\":false,\"Created\":false}\n"],
    stderr: "" },
  { cmd: "watch foo --prefix --rev 7 -w json", code: null,
    stdout: ["{\"Header\":{\"cluster_id\":ID,\"member_id\":ID,\"revision\":7,\"raft_term\":TERM},\"Events\":[{\"kv\":{\"key\":\"Zm9vMg==\",\"create_revision\":7,\"mod_revision\":7,\"version\":1,\"value\":\"eA==\"}},{\"kv\":{\"key\":\"Zm9vMw==\",\"create_revision\":7,\"mod_revision\":7,\"version\":1,\"value\":\"eQ==\"}}],\"CompactRevision\":0,\"Canceled\":false,\"Created\":false}\n"],
    stderr: "" },
  { cmd: "watch k --prefix --prev-kv --rev 8", code: null,
    stdout: ["PUT\nk1\na\nPUT\nk1\na\nk1\nb\nDELETE\nk1\nb\nk1\n\nPUT\nk2\nc\n"],
    stderr: "" },
  { cmd: "watch k1 k3 --rev 8", code: null,
    stdout: ["PUT\nk1\na\nPUT\nk1\nb\nDELETE\nk1\n\nPUT\nk2\nc\n"],
    stderr: "" },
  { cmd: "watch \"\" --prefix --rev 10", code: null,
    stdout: ["DELETE\nk1\n\nPUT\nk2\nc\n"],
    stderr: "" },
  { cmd: "compaction 9", code: 0,
    stdout: ["compacted revision 9\n"],
    stderr: "" },
  { cmd: "watch k --prefix --rev 5", code: 5,
    stdout: [""],
    stderr: "watch was canceled (etcdserver: mvcc: required revision has been compacted)\nError: watch is canceled by the server\n" },
  { cmd: "watch k --prefix --rev 8 -w json", code: 5,
    stdout: ["{\"Header\":{\"cluster_id\":ID,\"member_id\":ID,\"raft_term\":TERM},\"Events\":[],\"CompactRevision\":9,\"Canceled\":true,\"Created\":false}\n"],
    stderr: "watch was canceled (etcdserver: mvcc: required revision has been compacted)\nError: watch is canceled by the server\n" },
  { cmd: "watch k --prefix --rev 9 --prev-kv", code: null,
    stdout: ["PUT\nk1\nb\nDELETE\nk1\nb\nk1\n\nPUT\nk2\nc\n"],
    stderr: "" },
  { cmd: "watch -i <<\"watch k2 --rev 9\\nwatch k --prefix --rev 10\\nprogress\\ncancel 0\\nwatch\\n\"", code: 3,
    stdout: ["PUT\nk2\nc\n", "DELETE\nk1\n\nPUT\nk2\nc\n", "progress notify: 11\nprogress notify: 11\n", "", "", "PUT\nk3\ne\n", ""],
    stderr: "Invalid command cancel 0 (only support watch)\nInvalid command watch (command type or key is not provided)\nError: Error reading watch request line: EOF\n" },
  { cmd: "watch zoo --rev 14", code: null,
    stdout: ["PUT\nzoo\nlate\n"],
    stderr: "" },
];


function runSequence(endpoints: () => Endpoints): void {
  it('the expected outputs line up with the steps', () => {
    expect(EXPECTED.map((e) => e.cmd)).toStrictEqual(STEPS.map(label));
  });
  STEPS.forEach((step, i) => {
    it(`#${i} etcdctl ${label(step).slice(0, 100)}`, async () => {
      expect(await runStep(endpoints(), step)).toStrictEqual(EXPECTED[i]);
    });
  });
}

describe('Watch with the official etcdctl', () => {
  it('etcdctl is on PATH (required when CI=true)', () => {
    requireEtcdctl();
  });

  describe.skipIf(!HAVE_ETCDCTL)('three bin/etcd-ts members: write through a, watch through c', () => {
    let cluster: Cluster;
    let writer: MaintenanceClient, watcher: MaintenanceClient;
    beforeAll(async () => {
      cluster = await Cluster.create();
      await cluster.start();
      writer = new MaintenanceClient(cluster.members[0]!.endpoint);
      watcher = new MaintenanceClient(cluster.members[2]!.endpoint);
    });
    afterAll(async () => {
      writer?.close();
      watcher?.close();
      await cluster?.cleanup();
    });

    runSequence(() => ({
      writer: cluster.members[0]!.clientPort,
      watcher: cluster.members[2]!.clientPort,
      // Watches are served from the watching member's applied state: let it apply
      // what the writer acknowledged before the next step looks at it.
      caughtUp: async () => {
        const target = (await writer.status()).raftAppliedIndex;
        await waitFor('the watching member to apply the write', 10_000, async () =>
          (await watcher.status()).raftAppliedIndex >= target ? true : undefined, 20);
      },
    }));
  });

  describe.skipIf(!HAVE_ETCDCTL || !etcdIs34())('the same sequence against the real etcd 3.4 (literals check)', () => {
    let m: Member | undefined;
    beforeAll(async () => {
      m = await startMember({ impl: 'etcd' });
    });
    afterAll(async () => {
      await stopMember(m);
    });
    runSequence(() => ({ writer: m!.clientPort, watcher: m!.clientPort, caughtUp: async () => {} }));
  });
});
