// An etcd 3.4 log entry as our applier applies it (src/server/etcd-import/entries.ts):
// conf-change contexts, v2 member attributes, other v2 requests, passwords etcd
// proposes in the clear, and v3 requests kept byte for byte. The etcd-side bytes
// are built here as etcd's gogo protobuf and encoding/json write them.
import { describe, expect, it } from 'vitest';
import { passwordMatches } from '../../src/auth/password.js';
import { decodeInternalRequest, encodeInternalRequest } from '../../src/pb/internal.js';
import { WireWriter } from '../../src/pb/wire-messages.js';
import { decodeConfChange, encodeConfChange } from '../../src/raft/codec.js';
import { ConfChangeType, type Entry, EntryType } from '../../src/raft/types.js';
import { Membership } from '../../src/server/membership.js';
import { type EntryMapStats, mapEtcdEntry } from '../../src/server/etcd-import/entries.js';

const entry = (type: EntryType, data: Uint8Array, index = 7): Entry => ({ type, term: 3, index, data, encoded: undefined });
const stats = (): EntryMapStats => ({ v2Dropped: 0, passwordsHashed: 0 });

/** A v2 etcdserverpb.Request as etcd 3.4 proposes it (gogo, non-nullable fields always written). */
function v2Request(id: bigint, method: string, path: string, val: string): Uint8Array {
  return new WireWriter()
    .uint64(1, id)
    .bytes(2, Buffer.from(method))
    .bytes(3, Buffer.from(path))
    .bytes(4, Buffer.from(val))
    .finish();
}

describe('mapping etcd 3.4 entries', () => {
  it('a conf change: etcd\'s member JSON (id a JSON number past 2^53, isPromote) becomes our context; the member applies', async () => {
    const id = 0x8e9e05c52164694dn;
    const ctx = `{"id":${id.toString()},"peerURLs":["http://127.0.0.1:2380"],"name":"m1","isPromote":false}`;
    const etcdCc = new WireWriter().uint64(1, 0).uint(2, ConfChangeType.AddNode).uint64(3, id).bytes(4, Buffer.from(ctx)).finish();
    const out = await mapEtcdEntry(entry(EntryType.ConfChange, etcdCc), 10, stats());
    expect(out).toMatchObject({ type: EntryType.ConfChange, term: 3, index: 7 });
    const cc = decodeConfChange(out.data);
    expect(cc.nodeId).toBe(id);
    const m = new Membership(1n, id);
    expect(m.validateConfChange(cc)).toBeUndefined();
    m.applyConfChange(cc);
    expect(m.list()).toEqual([{ id, name: 'm1', peerURLs: ['http://127.0.0.1:2380'], clientURLs: [], isLearner: false }]);

    const promote = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: id, context: Buffer.from(`{"id":1,"peerURLs":["http://127.0.0.1:2380"],"isLearner":true,"isPromote":true}`) });
    const p = JSON.parse(Buffer.from(decodeConfChange((await mapEtcdEntry(entry(EntryType.ConfChange, promote), 10, stats())).data).context).toString());
    expect(p).toMatchObject({ id: id.toString(16), promote: true, isLearner: true });

    const remove = encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: id, context: new Uint8Array(0) });
    expect(decodeConfChange((await mapEtcdEntry(entry(EntryType.ConfChange, remove), 10, stats())).data)).toEqual({ type: ConfChangeType.RemoveNode, nodeId: id, context: new Uint8Array(0) });
  });

  it('v2 PUT /0/members/<id>/attributes becomes ClusterMemberAttrSet; the cluster version and other v2 requests become empty entries', async () => {
    const s = stats();
    const attrs = await mapEtcdEntry(entry(EntryType.Normal, v2Request(42n, 'PUT', '/0/members/8e9e05c52164694d/attributes', '{"name":"m1","clientURLs":["http://127.0.0.1:2379"]}')), 10, s);
    const req = decodeInternalRequest(attrs.data);
    expect(req.header?.ID).toBe(42n);
    expect(req.clusterMemberAttrSet).toEqual({ memberID: 0x8e9e05c52164694dn, memberAttributes: { name: 'm1', clientUrls: ['http://127.0.0.1:2379'] } });
    const version = await mapEtcdEntry(entry(EntryType.Normal, v2Request(43n, 'PUT', '/0/version', '3.4.0')), 10, s);
    expect(version.data.length).toBe(0);
    const sync = await mapEtcdEntry(entry(EntryType.Normal, v2Request(44n, 'SYNC', '', '')), 10, s);
    expect(sync.data.length).toBe(0);
    const v35 = encodeInternalRequest({ header: { ID: 45n }, clusterVersionSet: { ver: '3.5.0' } });
    expect((await mapEtcdEntry(entry(EntryType.Normal, v35), 10, s)).data.length).toBe(0);
    expect(s).toEqual({ v2Dropped: 3, passwordsHashed: 0 });
  });

  it('a v3 request is kept byte for byte; an empty entry stays empty', async () => {
    const put = encodeInternalRequest({ header: { ID: 9n, username: 'alice' }, put: { key: Buffer.from('k'), value: Buffer.from('v'), lease: 5n } });
    expect(Buffer.from((await mapEtcdEntry(entry(EntryType.Normal, put), 10, stats())).data)).toEqual(Buffer.from(put));
    expect((await mapEtcdEntry(entry(EntryType.Normal, new Uint8Array(0)), 10, stats())).data.length).toBe(0);
  });

  it('a password etcd 3.4 proposes in the clear is hashed (user add, change password); a --no-password user is left alone', async () => {
    const s = stats();
    const add = encodeInternalRequest({ header: { ID: 1n }, authUserAdd: { name: 'bob', password: 'pw' } });
    const added = decodeInternalRequest((await mapEtcdEntry(entry(EntryType.Normal, add), 4, s)).data).authUserAdd!;
    expect(added.password).toBe('');
    expect(await passwordMatches('pw', added.hashedPassword)).toBe(true);
    const change = encodeInternalRequest({ header: { ID: 2n }, authUserChangePassword: { name: 'bob', password: 'pw2' } });
    const changed = decodeInternalRequest((await mapEtcdEntry(entry(EntryType.Normal, change), 4, s)).data).authUserChangePassword!;
    expect(await passwordMatches('pw2', changed.hashedPassword)).toBe(true);
    const noPassword = encodeInternalRequest({ header: { ID: 3n }, authUserAdd: { name: 'carol', options: { noPassword: true } } });
    expect(Buffer.from((await mapEtcdEntry(entry(EntryType.Normal, noPassword), 4, s)).data)).toEqual(Buffer.from(noPassword));
    expect(s.passwordsHashed).toBe(2);
  });
});
