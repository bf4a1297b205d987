// --auto-tls and --peer-auto-tls on a 3-member cluster: each member makes its own
// self-signed pairs under <data-dir>/fixtures/client and /peer (as etcd does), the
// members dial each other over https:// without verifying the self-signed
// certificates (etcd: InsecureSkipVerify), etcdctl talks to them with
// --insecure-transport=false --insecure-skip-tls-verify (what etcdctl 3.4 needs
// against etcd 3.4.23 --auto-tls too), and a restart reuses the same pair.
import { statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from './helpers/cluster.js';
import { requireEtcdctl } from './helpers/etcd-process.js';
import { etcdctlTls, servedFingerprint } from './helpers/tls-ctl.js';

const RUN = requireEtcdctl();
let cluster: Cluster | undefined;

beforeAll(async () => {
  if (!RUN) return;
  cluster = await Cluster.create({ clientScheme: 'https', peerScheme: 'https', extraArgs: ['--auto-tls', '--peer-auto-tls'] });
  await cluster.start();
}, 120_000);

afterAll(async () => {
  await cluster?.cleanup();
});

describe.runIf(RUN)('--auto-tls and --peer-auto-tls', () => {
  it('serves its self-signed certificate, replicates over self-signed peer TLS, and etcdctl works with --insecure-skip-tls-verify', async () => {
    const [a, b] = cluster!.members;
    expect(await etcdctlTls(a!.clientUrl, { insecureSkipVerify: true }, ['put', 'auto', 'tls'])).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(await etcdctlTls(b!.clientUrl, { insecureSkipVerify: true }, ['get', 'auto'])).toMatchObject({ code: 0, stdout: 'auto\ntls\n' });
    // Without skipping verification, the self-signed certificate is refused by etcdctl.
    const strict = await etcdctlTls(a!.clientUrl, {}, ['--insecure-transport=false', '--command-timeout=2s', 'get', 'auto']);
    expect(strict.code).toBe(1);

    for (const side of ['client', 'peer']) {
      const certFile = join(a!.dataDir, 'fixtures', side, 'cert.pem');
      const cert = new X509Certificate(readFileSync(certFile));
      expect(cert.subject).toBe('O=etcd');
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(statSync(join(a!.dataDir, 'fixtures', side, 'key.pem')).mode & 0o777).toBe(0o600);
      const port = side === 'client' ? a!.clientPort : a!.peerPort;
      expect(await servedFingerprint(port)).toBe(cert.fingerprint256);
    }
  });

  it('a restarted member reuses its pair', async () => {
    const c = cluster!.members[2]!;
    const before = await servedFingerprint(c.clientPort);
    await c.stop();
    await cluster!.start([c]);
    expect(await servedFingerprint(c.clientPort)).toBe(before);
    expect(await etcdctlTls(c.clientUrl, { insecureSkipVerify: true }, ['get', 'auto'])).toMatchObject({ code: 0, stdout: 'auto\ntls\n' });
  });
});
