// --auto-tls / --peer-auto-tls: as etcd's transport.SelfCert, a self-signed
// certificate for the listen URLs' hosts (IP or DNS SANs), organization "etcd",
// valid for a year, written once to <dir>/cert.pem and <dir>/key.pem (0600) and
// reused on the next start while both files exist.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsLog } from './reloading-tls.js';
import { buildCertificate, generateEcKey, pem } from './x509.js';

export function selfCert(dir: string, hosts: string[], logger: Pick<TlsLog, 'info'>): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateEcKey();
  const der = buildCertificate({
    subject: { organization: 'etcd' },
    publicKey,
    selfKey: privateKey,
    hosts: [...new Set(hosts)],
    usages: ['server', 'client'],
  });
  writeFileSync(certFile, pem('CERTIFICATE', der));
  logger.info({ path: certFile }, 'created cert file');
  writeFileSync(keyFile, privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
  logger.info({ path: keyFile }, 'created key file');
  return { certFile, keyFile };
}
