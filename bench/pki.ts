// Test and bench certificates, made at run time (never committed): CAs, server and client
// certificates signed by them, CRLs, written as PEM files into a directory, in
// the shapes etcd's own e2e fixtures have (127.0.0.1 and localhost SANs, both
// usages on member certificates, since members dial each other with them).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as crypto from 'node:crypto';
import { buildCertificate, buildCrl, generateEcKey, keyId, pem, randomSerial, type Signer } from '../src/server/tls/x509.js';

export interface TestCa extends Signer {
  certPem: string;
  certFile: string;
}

export interface TestCert {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  serial: Buffer;
}

function keyPem(key: crypto.KeyObject): string {
  return key.export({ type: 'sec1', format: 'pem' }).toString();
}

export function makeCa(dir: string, commonName: string, file = `${commonName}.pem`): TestCa {
  const { privateKey, publicKey } = generateEcKey();
  const der = buildCertificate({ subject: { commonName, organization: 'etcd-ts tests' }, publicKey, selfKey: privateKey, isCa: true });
  const certPem = pem('CERTIFICATE', der);
  const certFile = join(dir, file);
  writeFileSync(certFile, certPem);
  return { name: { commonName, organization: 'etcd-ts tests' }, key: privateKey, keyId: keyId(publicKey), certPem, certFile };
}

export interface CertOptions {
  hosts?: string[];
  usages?: ('server' | 'client')[];
  notAfter?: Date;
  notBefore?: Date;
}

export function makeCert(dir: string, ca: TestCa, commonName: string, base: string, opts: CertOptions = {}): TestCert {
  const { privateKey, publicKey } = generateEcKey();
  const serial = randomSerial();
  const der = buildCertificate({
    subject: { commonName },
    publicKey,
    issuer: ca,
    hosts: opts.hosts ?? ['127.0.0.1', 'localhost'],
    usages: opts.usages ?? ['server', 'client'],
    serial,
    ...(opts.notAfter ? { notAfter: opts.notAfter } : {}),
    ...(opts.notBefore ? { notBefore: opts.notBefore } : {}),
  });
  const certPem = pem('CERTIFICATE', der);
  const kp = keyPem(privateKey);
  const certFile = join(dir, `${base}.pem`);
  const keyFile = join(dir, `${base}-key.pem`);
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, kp, { mode: 0o600 });
  return { certFile, keyFile, certPem, keyPem: kp, serial };
}

export function makeCrl(dir: string, ca: TestCa, revoked: TestCert[], file = 'revoked.crl'): string {
  const path = join(dir, file);
  writeFileSync(path, pem('X509 CRL', buildCrl({ issuer: ca, revoked: revoked.map((c) => c.serial) })));
  return path;
}

/**
 * `node dist/bench/pki.js DIR`: a CA (ca.pem), a server certificate for 127.0.0.1
 * and localhost (server.pem, server-key.pem) and a client certificate
 * (client.pem, client-key.pem) in DIR, for bench/run-tls-compare.sh.
 */
if (process.argv[1] && process.argv[1].endsWith('pki.js') && process.argv[2]) {
  const dir = process.argv[2];
  const ca = makeCa(dir, 'ca', 'ca.pem');
  makeCert(dir, ca, 'server', 'server');
  makeCert(dir, ca, 'bench-client', 'client', { usages: ['client'] });
}
