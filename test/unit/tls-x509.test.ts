// The certificates and CRLs x509.ts writes are read by OpenSSL (node's X509Certificate,
// `openssl verify -crl_check`, a real TLS handshake), and crlRevokedSerials reads
// back what OpenSSL's own `openssl ca -gencrl` would list.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { namedBits, oid, readTlv, smallInteger, time, unsignedInteger } from '../../src/server/tls/der.js';
import { buildCertificate, crlRevokedSerials, generateEcKey, normalizeSerial, pem } from '../../src/server/tls/x509.js';
import { makeCa, makeCert, makeCrl } from '../e2e/helpers/pki.js';
import { IN_CI, onPath } from '../e2e/helpers/etcd-process.js';

const dir = mkdtempSync(join(tmpdir(), 'x509-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HAVE_OPENSSL = onPath('openssl');
if (!HAVE_OPENSSL && IN_CI) throw new Error('openssl must be on PATH in CI');

describe('der', () => {
  it('encodes the primitives as DER wants them', () => {
    expect(oid('1.2.840.10045.4.3.2').toString('hex')).toBe('06082a8648ce3d040302');
    expect(smallInteger(0).toString('hex')).toBe('020100');
    expect(smallInteger(128).toString('hex')).toBe('02020080');
    expect(unsignedInteger(Buffer.from([0, 0, 5])).toString('hex')).toBe('020105');
    // digitalSignature | keyEncipherment: 0xa0 with 5 unused bits.
    expect(namedBits([0, 2]).toString('hex')).toBe('030205a0');
    expect(time(new Date('2030-01-02T03:04:05Z')).toString('ascii', 2)).toBe('300102030405Z');
    expect(time(new Date('2051-01-02T03:04:05Z'))[0]).toBe(0x18);
    const long = Buffer.alloc(300);
    const { node, next } = readTlv(Buffer.concat([Buffer.from([0x04, 0x82, 0x01, 0x2c]), long]));
    expect(node.content.length).toBe(300);
    expect(next).toBe(304);
    expect(() => readTlv(Buffer.from([0x04, 0x05, 1]))).toThrow(/truncated/);
  });
});

describe('x509', () => {
  const ca = makeCa(dir, 'ca');
  const server = makeCert(dir, ca, 'server', 'server', { hosts: ['127.0.0.1', 'localhost', '::1'] });
  const client = makeCert(dir, ca, 'alice', 'alice', { usages: ['client'] });

  it('writes certificates node reads, with subject, SANs and issuer', () => {
    const c = new crypto.X509Certificate(server.certPem);
    expect(c.subject).toBe('CN=server');
    expect(c.issuer).toContain('CN=ca');
    expect(c.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(c.checkIP('::1')).toBeDefined();
    expect(c.checkHost('localhost')).toBe('localhost');
    expect(c.verify(new crypto.X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(normalizeSerial(c.serialNumber)).toBe(normalizeSerial(server.serial));
    expect(new crypto.X509Certificate(ca.certPem).ca).toBe(true);
  });

  it('a self-signed certificate verifies with its own key', () => {
    const { privateKey, publicKey } = generateEcKey();
    const der = buildCertificate({ subject: { organization: 'etcd' }, publicKey, selfKey: privateKey, hosts: ['127.0.0.1'] });
    const c = new crypto.X509Certificate(der);
    expect(c.verify(publicKey)).toBe(true);
    expect(c.subject).toBe('O=etcd');
  });

  it.runIf(HAVE_OPENSSL)('OpenSSL verifies the chain, and the CRL revokes exactly the listed certificate', () => {
    const crl = makeCrl(dir, ca, [client]);
    const verify = (cert: string, withCrl: boolean): string => {
      try {
        return execFileSync('openssl', ['verify', '-CAfile', ca.certFile, ...(withCrl ? ['-crl_check', '-CRLfile', crl] : []), cert], { encoding: 'utf8', stdio: 'pipe' });
      } catch (err) {
        return String((err as { stdout?: string }).stdout) + String((err as { stderr?: string }).stderr);
      }
    };
    expect(verify(server.certFile, false)).toContain(': OK');
    expect(verify(server.certFile, true)).toContain(': OK');
    expect(verify(client.certFile, true)).toContain('certificate revoked');
    const text = execFileSync('openssl', ['crl', '-in', crl, '-noout', '-text'], { encoding: 'utf8' });
    expect(text.toLowerCase().replace(/:/g, '')).toContain(normalizeSerial(client.serial));
  });

  it('reads the revoked serials of PEM and DER CRLs', () => {
    const other = makeCert(dir, ca, 'bob', 'bob', { usages: ['client'] });
    const path = makeCrl(dir, ca, [client, other], 'two.crl');
    const serials = crlRevokedSerials(readFileSync(path));
    expect(serials).toEqual(new Set([normalizeSerial(client.serial), normalizeSerial(other.serial)]));
    const derOnly = Buffer.from(readFileSync(path, 'utf8').replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
    expect(crlRevokedSerials(derOnly)).toEqual(serials);
    expect(crlRevokedSerials(readFileSync(makeCrl(dir, ca, [], 'empty.crl')))).toEqual(new Set());
    expect(() => crlRevokedSerials(Buffer.from('not a crl'))).toThrow(/no CRL/);
    writeFileSync(join(dir, 'junk.crl'), pem('X509 CRL', Buffer.from([0x30, 0x03, 0x02, 0x01])));
    expect(() => crlRevokedSerials(readFileSync(join(dir, 'junk.crl')))).toThrow();
  });

  it('a TLS handshake works with the certificates (server and client auth)', async () => {
    const srv = tls.createServer({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (s) => {
      s.end(String((s.getPeerCertificate() as tls.PeerCertificate).subject.CN));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const got = await new Promise<string>((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: client.certPem, key: client.keyPem }, () => {});
      let out = '';
      c.on('data', (d) => (out += d));
      c.on('end', () => resolve(out));
      c.on('error', reject);
    });
    srv.close();
    expect(got).toBe('alice');
  });
});
