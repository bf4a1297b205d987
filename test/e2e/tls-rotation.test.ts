// Certificates replaced on disk without a restart (etcd-io/etcd#11555, which etcd
// 3.4 cannot do for its CA bundle): a member serving cert A from CA1 gets cert B
// from CA2 and a CA bundle naming both; a new connection sees B within seconds,
// a client certificate from CA2 is then accepted, the connection opened before
// keeps working, a broken file leaves B in place, and a CRL written later revokes
// a certificate for new connections.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/cluster.js';
import { requireEtcdctl, stopMember, type Member } from './helpers/etcd-process.js';
import { makeCa, makeCert, makeCrl, type TestCa, type TestCert } from './helpers/pki.js';
import { etcdctlTls, lastErrorLine, servedFingerprint } from './helpers/tls-ctl.js';
import { Member as MemberProcess } from './helpers/member.js';

const RUN = requireEtcdctl();
const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-tls-rot-'));
let member: Member | undefined;
let ca1: TestCa;
let ca2: TestCa;
let certA: TestCert;
let client1: TestCert;
let client2: TestCert;
const live = { cert: join(dir, 'live-cert.pem'), key: join(dir, 'live-key.pem'), ca: join(dir, 'live-ca.pem'), crl: join(dir, 'live.crl') };

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

beforeAll(async () => {
  if (!RUN) return;
  ca1 = makeCa(dir, 'ca1');
  ca2 = makeCa(dir, 'ca2');
  certA = makeCert(dir, ca1, 'server-a', 'server-a');
  client1 = makeCert(dir, ca1, 'client1', 'client1', { usages: ['client'] });
  client2 = makeCert(dir, ca2, 'client2', 'client2', { usages: ['client'] });
  writeFileSync(live.cert, certA.certPem);
  writeFileSync(live.key, certA.keyPem);
  writeFileSync(live.ca, ca1.certPem);
  makeCrl(dir, ca1, [], 'live.crl');
  const m = await MemberProcess.create({
    clientScheme: 'https',
    extraArgs: ['--cert-file', live.cert, '--key-file', live.key, '--trusted-ca-file', live.ca, '--client-cert-auth', '--client-crl-file', live.crl],
    startTimeoutMs: 30_000,
  });
  await m.start();
  member = m;
}, 60_000);

afterAll(async () => {
  await stopMember(member);
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(RUN)('certificate rotation without a restart', () => {
  it('new connections get the new certificate and CA bundle; old ones keep working; a broken file keeps the last good one', async () => {
    const m = member!;
    const as1 = { cacert: ca1.certFile, cert: client1.certFile, key: client1.keyFile };
    expect(await servedFingerprint(m.clientPort)).toBe(fingerprintOf(certA.certPem));
    expect(await etcdctlTls(m.clientUrl, as1, ['put', 'before', '1'])).toMatchObject({ code: 0 });
    // Before the rotation, CA2's clients are strangers.
    const as2 = { cacert: ca2.certFile, cert: client2.certFile, key: client2.keyFile };
    expect((await etcdctlTls(m.clientUrl, as2, ['--command-timeout=2s', 'get', 'before'])).code).toBe(1);

    const early = new Etcd3({
      hosts: m.clientUrl,
      credentials: { rootCertificate: Buffer.from(ca1.certPem + ca2.certPem), certChain: readFileSync(client1.certFile), privateKey: readFileSync(client1.keyFile) },
    });
    try {
      await early.put('early').value('1');

      // The operator's rotation, file by file: the key lands before its certificate
      // (a moment when the pair does not match and must not be taken).
      const certB = makeCert(dir, ca2, 'server-b', 'server-b');
      writeFileSync(live.ca, ca1.certPem + ca2.certPem);
      writeFileSync(live.key, certB.keyPem);
      // Waited for, not slept on: a busy machine can stretch the member's 1 s poll.
      await waitFor('the mismatched pair to be refused', 10_000, async () => (m.log().includes('tls: private key does not match public key') ? true : undefined), 100);
      expect(m.log()).toContain('TLS files changed but do not load');
      expect(await servedFingerprint(m.clientPort)).toBe(fingerprintOf(certA.certPem));
      writeFileSync(live.cert, certB.certPem);
      const wanted = fingerprintOf(certB.certPem);
      await waitFor('the new certificate on new connections', 10_000, async () => ((await servedFingerprint(m.clientPort)) === wanted ? true : undefined), 200);
      // The member logs asynchronously (pino, sync: false): the line can trail the
      // new certificate by a moment.
      await waitFor('the reload to be logged', 5_000, async () => (m.log().includes(`"fingerprint":"${wanted}"`) ? true : undefined), 100);
      expect(m.log()).toContain('reloaded TLS certificates');

      // A CA2 client is now trusted, a CA1 one still is (both in the bundle).
      expect(await etcdctlTls(m.clientUrl, as2, ['get', 'before'])).toMatchObject({ code: 0, stdout: 'before\n1\n' });
      expect(await etcdctlTls(m.clientUrl, { ...as1, cacert: ca2.certFile }, ['get', 'early'])).toMatchObject({ code: 0, stdout: 'early\n1\n' });
      // The connection made before the rotation still serves.
      await early.put('early').value('2');
      expect(await early.get('early').string()).toBe('2');

      // A broken certificate file: logged, the last good certificate stays.
      writeFileSync(live.cert, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
      await waitFor('the broken file to be noticed', 10_000, async () => (m.log().split('do not load').length > 2 ? true : undefined), 200);
      expect(await servedFingerprint(m.clientPort)).toBe(wanted);
      writeFileSync(live.cert, certB.certPem);

      // A CRL written later revokes client1 for new connections.
      writeFileSync(live.crl, readFileSync(makeCrl(dir, ca1, [client1], 'revoke-client1.crl')));
      await waitFor('client1 to be refused', 10_000, async () => {
        const r = await etcdctlTls(m.clientUrl, { ...as1, cacert: ca2.certFile }, ['--command-timeout=1s', 'get', 'early']);
        return r.code === 1 && lastErrorLine(r) === 'Error: context deadline exceeded' ? true : undefined;
      }, 200);
      expect(await etcdctlTls(m.clientUrl, as2, ['get', 'early'])).toMatchObject({ code: 0 });
    } finally {
      early.close();
    }
  });
});
