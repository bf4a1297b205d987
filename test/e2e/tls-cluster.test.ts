// Client and peer TLS on a 3-member cluster, with certificates this test makes at
// run time (a CA, one server certificate per member with 127.0.0.1 SANs, client
// certificates, a second CA, a CRL revoking one client certificate):
// etcdctl 3.4 with --cacert --cert --key over https://, client certificate auth
// (no certificate, another CA's, a revoked one: refused, with what etcdctl prints
// against etcd 3.4.23 for the same setup), the peer port refusing a connection
// without a peer certificate, /health over https, and the etcd3 npm client with
// `credentials`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, waitFor } from './helpers/cluster.js';
import { requireEtcdctl } from './helpers/etcd-process.js';
import { makeCa, makeCert, makeCrl, type TestCa, type TestCert } from './helpers/pki.js';
import { etcdctlTls, lastErrorLine, type CtlTls } from './helpers/tls-ctl.js';

const RUN = requireEtcdctl();
const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-tls-'));

let ca: TestCa;
let alice: TestCert;
let revoked: TestCert;
let stranger: TestCert;
let crl: string;
let cluster: Cluster | undefined;

/**
 * What etcdctl 3.4.23 printed against etcd 3.4.23 started with --client-cert-auth,
 * --trusted-ca-file and --client-crl-file, for a refused connection (no client
 * certificate, a certificate from another CA, a revoked certificate): exit code 1
 * and this last line, after its retry warning (recorded by hand, same certificates).
 */
const REFUSED = { code: 1, last: 'Error: context deadline exceeded' };

beforeAll(async () => {
  if (!RUN) return;
  ca = makeCa(dir, 'ca');
  const other = makeCa(dir, 'other-ca');
  alice = makeCert(dir, ca, 'alice', 'alice', { usages: ['client'] });
  revoked = makeCert(dir, ca, 'mallory', 'mallory', { usages: ['client'] });
  stranger = makeCert(dir, other, 'eve', 'eve', { usages: ['client'] });
  crl = makeCrl(dir, ca, [revoked]);
  const serverCerts = new Map(['a', 'b', 'c'].map((n) => [n, makeCert(dir, ca, n, `member-${n}`)]));
  cluster = await Cluster.create({
    clientScheme: 'https',
    peerScheme: 'https',
    extraArgs: [
      '--trusted-ca-file', ca.certFile, '--client-cert-auth', '--client-crl-file', crl,
      '--peer-trusted-ca-file', ca.certFile, '--peer-client-cert-auth',
    ],
    memberArgs: (name) => {
      const c = serverCerts.get(name)!;
      return ['--cert-file', c.certFile, '--key-file', c.keyFile, '--peer-cert-file', c.certFile, '--peer-key-file', c.keyFile];
    },
  });
  await cluster.start();
}, 120_000);

afterAll(async () => {
  await cluster?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const endpoints = (): string => cluster!.members.map((m) => m.clientUrl).join(',');
const asAlice = (): CtlTls => ({ cacert: ca.certFile, cert: alice.certFile, key: alice.keyFile });

describe.runIf(RUN)('client and peer TLS on a 3-member cluster', () => {
  it('etcdctl with --cacert --cert --key writes on one member and reads on every other, over https and TLS peers', async () => {
    const [a, b, c] = cluster!.members;
    const put = await etcdctlTls(a!.clientUrl, asAlice(), ['put', 'secure-key', 'v1']);
    expect(put).toMatchObject({ code: 0, stdout: 'OK\n' });
    for (const m of [b!, c!]) {
      const got = await etcdctlTls(m.clientUrl, asAlice(), ['get', 'secure-key']);
      expect(got).toMatchObject({ code: 0, stdout: 'secure-key\nv1\n' });
    }
    const health = await etcdctlTls(endpoints(), asAlice(), ['endpoint', 'health']);
    expect(health.code).toBe(0);
    expect(health.stderr.match(/is healthy/g)?.length ?? health.stdout.match(/is healthy/g)?.length).toBe(3);
    const members = await etcdctlTls(a!.clientUrl, asAlice(), ['member', 'list']);
    for (const m of cluster!.members) expect(members.stdout).toContain(`${m.peerUrl}, ${m.clientUrl}`);
  });

  it('refuses a client without a certificate, with another CA\'s, and with a revoked one, as etcd does', async () => {
    const url = cluster!.members[0]!.clientUrl;
    for (const who of [
      { cacert: ca.certFile },
      { cacert: ca.certFile, cert: stranger.certFile, key: stranger.keyFile },
      { cacert: ca.certFile, cert: revoked.certFile, key: revoked.keyFile },
    ]) {
      const r = await etcdctlTls(url, who, ['--dial-timeout=1s', 'put', 'k', 'v']);
      expect({ code: r.code, last: lastErrorLine(r) }).toEqual(REFUSED);
    }
    const log = cluster!.members[0]!.log();
    expect(log).toContain(`transport: certificate serial ${revoked.serial.toString('hex').replace(/^0+/, '')} revoked`);
    expect(log).toContain('tls: peer did not return a certificate');
  });

  it('the peer port refuses a connection without a peer certificate, and a plaintext one', async () => {
    const peerPort = cluster!.members[1]!.peerPort;
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: peerPort, ca: ca.certPem, ALPNProtocols: ['h2'] }, () => {
        // TLS 1.3: the server's verdict on our (missing) certificate arrives after our handshake ends.
        s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      });
      s.setTimeout(5_000, () => (s.destroy(), resolve('timeout')));
      s.on('data', () => resolve('served'));
      s.once('error', (err) => resolve(`error: ${err.message}`));
      s.once('close', () => resolve('closed'));
    });
    expect(outcome).toMatch(/error|closed/);
    expect(outcome).not.toBe('served');
    const plain = await etcdctlTls(`http://127.0.0.1:${peerPort}`, {}, ['--dial-timeout=1s', 'get', 'x']);
    expect(plain.code).not.toBe(0);
  });

  /** One HTTP/1.1 request over https with alice's certificate: "<status> <body>". */
  const httpsAsAlice = (port: number, path: string, body?: string) =>
    new Promise<string>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', ca: ca.certPem, cert: alice.certPem, key: alice.keyPem, timeout: 5_000 },
        (res) => {
          let out = '';
          res.on('data', (d: Buffer) => (out += d.toString()));
          res.on('end', () => resolve(`${res.statusCode} ${out}`));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('/health is served over https to a client with a certificate', async () => {
    expect(await httpsAsAlice(cluster!.members[2]!.clientPort, '/health')).toBe('200 {"health":"true"}');
  });

  it('the /v3 JSON gateway is served over https', async () => {
    const port = cluster!.members[2]!.clientPort;
    expect(await httpsAsAlice(port, '/v3/kv/put', '{"key":"Z3c=","value":"dGxz"}')).toMatch(/^200 \{"header":/);
    expect(await httpsAsAlice(port, '/v3/kv/range', '{"key":"Z3c="}')).toMatch(/"kvs":\[\{"key":"Z3c=".*"value":"dGxz"\}\],"count":"1"\}$/);
  });

  it('the etcd3 npm client works with credentials {rootCertificate, certChain, privateKey}', async () => {
    const client = new Etcd3({
      hosts: cluster!.members.map((m) => m.clientUrl),
      credentials: { rootCertificate: readFileSync(ca.certFile), certChain: readFileSync(alice.certFile), privateKey: readFileSync(alice.keyFile) },
      dialTimeout: 5_000,
    });
    try {
      await client.put('from-etcd3').value('over-tls');
      expect(await client.get('from-etcd3').string()).toBe('over-tls');
      const leased = client.lease(10);
      await leased.put('leased-tls').value('x');
      expect(await client.get('leased-tls').string()).toBe('x');
      await leased.revoke();
      await waitFor('the leased key to go', 5_000, async () => ((await client.get('leased-tls').string()) === null ? true : undefined));
    } finally {
      client.close();
    }
  });
});
