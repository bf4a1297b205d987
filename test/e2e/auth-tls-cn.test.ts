// Auth by client certificate (etcd's AuthInfoFromTLS): on a 3-member cluster with
// client TLS, --client-cert-auth and --trusted-ca-file, a call without a token is
// the user named by its verified certificate's Common Name. etcdctl 3.4 with
// --cacert --cert --key and no --user: CN alice (readwrite on /a/) writes and reads
// /a/ and is refused /b/; CN root lists users; CN nobody (no such user) is refused.
// The expected outputs are what etcd 3.4.23 printed for the same steps
// (ETCD_TS_E2E_IMPL=etcd runs this file against /usr/bin/etcd to check them).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from './helpers/cluster.js';
import { requireEtcdctl } from './helpers/etcd-process.js';
import { makeCa, makeCert, type TestCa, type TestCert } from './helpers/pki.js';
import { etcdctlTls, lastErrorLine, type CtlTls } from './helpers/tls-ctl.js';

const RUN = requireEtcdctl();
const IMPL = process.env.ETCD_TS_E2E_IMPL === 'etcd' ? 'etcd' : 'etcd-ts';
const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-auth-cn-'));

let ca: TestCa;
const certs = new Map<string, TestCert>();
let cluster: Cluster | undefined;

/**
 * Recorded from etcd 3.4.23 (etcdctl 3.4.23, same certificates and steps): exit code
 * and last stderr line, after etcdctl's retry warning carrying the gRPC status.
 */
const DENIED = { code: 1, last: 'Error: etcdserver: permission denied' };
const DENIED_STATUS = 'rpc error: code = PermissionDenied desc = etcdserver: permission denied';

beforeAll(async () => {
  if (!RUN) return;
  ca = makeCa(dir, 'ca');
  for (const cn of ['alice', 'root', 'nobody']) certs.set(cn, makeCert(dir, ca, cn, `client-${cn}`, { usages: ['client'] }));
  const serverCerts = new Map(['a', 'b', 'c'].map((n) => [n, makeCert(dir, ca, `member-${n}`, `member-${n}`)]));
  cluster = await Cluster.create({
    impl: IMPL,
    clientScheme: 'https',
    extraArgs: ['--trusted-ca-file', ca.certFile, '--client-cert-auth'],
    memberArgs: (name) => ['--cert-file', serverCerts.get(name)!.certFile, '--key-file', serverCerts.get(name)!.keyFile],
  });
  await cluster.start();
}, 120_000);

afterAll(async () => {
  await cluster?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const as = (cn: string): CtlTls => ({ cacert: ca.certFile, cert: certs.get(cn)!.certFile, key: certs.get(cn)!.keyFile });

/** etcdctl as the certificate `cn` against member `i`, with no --user. */
const ctl = (cn: string, i: number, ...args: string[]) => etcdctlTls(cluster!.members[i]!.clientUrl, as(cn), args);

describe.runIf(RUN)(`auth by client certificate CN on 3 members (${IMPL})`, () => {
  it('sets up root and alice (readwrite on /a/) and enables auth', async () => {
    for (const args of [
      ['user', 'add', 'root:rootpw'],
      ['user', 'grant-role', 'root', 'root'],
      ['user', 'add', 'alice:alicepw'],
      ['role', 'add', 'a-writer'],
      ['role', 'grant-permission', 'a-writer', 'readwrite', '/a/', '--prefix'],
      ['user', 'grant-role', 'alice', 'a-writer'],
      ['auth', 'enable'],
    ]) {
      const r = await ctl('root', 0, ...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });

  it('CN alice writes and reads under /a/ on every member, and is refused /b/', async () => {
    expect(await ctl('alice', 0, 'put', '/a/1', 'x')).toMatchObject({ code: 0, stdout: 'OK\n' });
    for (const i of [1, 2]) expect(await ctl('alice', i, 'get', '/a/1')).toMatchObject({ code: 0, stdout: '/a/1\nx\n' });
    const refused = await ctl('alice', 1, 'put', '/b/1', 'x');
    expect({ code: refused.code, last: lastErrorLine(refused) }).toEqual(DENIED);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(DENIED_STATUS);
  });

  it('CN root lists users', async () => {
    // Recorded from etcd 3.4.23: the names, sorted, one a line.
    expect(await ctl('root', 2, 'user', 'list')).toMatchObject({ code: 0, stdout: 'alice\nroot\n' });
  });

  it('CN nobody (no such user) is refused a read, as etcd 3.4.23 refuses it', async () => {
    const r = await ctl('nobody', 0, 'get', '/a/1');
    expect({ code: r.code, last: lastErrorLine(r) }).toEqual(DENIED);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(DENIED_STATUS);
  });

  it('the certificate does not override a token: alice with a wrong --user password fails authentication', async () => {
    // Recorded from etcd 3.4.23: etcdctl authenticates first; a bad password ends there.
    const r = await ctl('alice', 0, '--user', 'alice:wrong', 'get', '/a/1');
    expect({ code: r.code, last: lastErrorLine(r) }).toEqual({ code: 2, last: 'Error: etcdserver: authentication failed, invalid user ID or password' });
  });
});
