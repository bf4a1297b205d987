// Loading one side's TLS files (etcd's errors for a missing file, a key that is
// not a key or not the certificate's), and following them: files replaced → new
// material and generation; a broken set → logged once, the old material kept; the
// peer dialer's credentials follow the generation.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTlsMaterial, type TlsFiles } from '../../src/server/tls/material.js';
import { peerDialer } from '../../src/server/tls/peer-dialer.js';
import { ReloadingTls } from '../../src/server/tls/reloading-tls.js';
import { normalizeSerial } from '../../src/server/tls/x509.js';
import { makeCa, makeCert, makeCrl } from '../e2e/helpers/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'tls-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ca = makeCa(dir, 'ca');
const a = makeCert(dir, ca, 'a', 'a');
const b = makeCert(dir, ca, 'b', 'b');
const files = (over: Partial<TlsFiles> = {}): TlsFiles => ({ certFile: a.certFile, keyFile: a.keyFile, trustedCaFile: '', crlFile: '', ...over });

type Log = (o: Record<string, unknown>, m: string) => void;
function quietLogger(): { info: Log; warn: Log; warned: string[]; infos: string[] } {
  const warned: string[] = [];
  const infos: string[] = [];
  return { warned, infos, info: (_o, m) => void infos.push(m), warn: (o, m) => void warned.push(`${m}: ${(o as { err?: string }).err}`) };
}

describe('loadTlsMaterial', () => {
  it('loads a pair, a CA and a CRL', () => {
    const crl = makeCrl(dir, ca, [b]);
    const m = loadTlsMaterial(files({ trustedCaFile: ca.certFile, crlFile: crl }));
    expect(m.fingerprint256).toBe(new X509Certificate(a.certPem).fingerprint256);
    expect(m.revokedSerials).toEqual(new Set([normalizeSerial(b.serial)]));
    expect(m.context.minVersion).toBe('TLSv1.2');
    expect(m.context.ca).toBeDefined();
  });

  it("refuses broken files with etcd's words", () => {
    const missing = join(dir, 'nope.pem');
    expect(() => loadTlsMaterial(files({ keyFile: missing }))).toThrow(`open ${missing}: no such file or directory`);
    expect(() => loadTlsMaterial(files({ trustedCaFile: missing }))).toThrow(`open ${missing}: no such file or directory`);
    expect(() => loadTlsMaterial(files({ keyFile: ca.certFile }))).toThrow('tls: found a certificate rather than a key in the PEM for the private key');
    expect(() => loadTlsMaterial(files({ keyFile: b.keyFile }))).toThrow('tls: private key does not match public key');
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'hello');
    expect(() => loadTlsMaterial(files({ certFile: junk }))).toThrow(/failed to find any PEM data in certificate input/);
    expect(() => loadTlsMaterial(files({ keyFile: junk }))).toThrow(/failed to find any PEM data in key input/);
    expect(() => loadTlsMaterial(files({ trustedCaFile: junk }))).toThrow(/no certificate found in trusted CA file/);
    expect(() => loadTlsMaterial(files({ crlFile: junk }))).toThrow(/cannot parse CRL file/);
  });
});

describe('ReloadingTls', () => {
  it('takes replaced files, keeps the old material for a broken set (logged once), and recovers', () => {
    const live = { certFile: join(dir, 'live.pem'), keyFile: join(dir, 'live-key.pem'), trustedCaFile: '', crlFile: '' };
    writeFileSync(live.certFile, a.certPem);
    writeFileSync(live.keyFile, a.keyPem);
    const log = quietLogger();
    const r = new ReloadingTls(live, { logger: log, side: 'client', pollMs: 60_000 });
    const seen: string[] = [];
    r.onChange((m) => seen.push(m.fingerprint256));
    const fpA = new X509Certificate(a.certPem).fingerprint256;
    const fpB = new X509Certificate(b.certPem).fingerprint256;
    expect(r.current.fingerprint256).toBe(fpA);
    expect(r.checkNow()).toBe(false); // nothing changed

    // Half-way through a rotation: B's key with A's certificate.
    writeFileSync(live.keyFile, b.keyPem);
    expect(r.checkNow()).toBe(false);
    expect(r.checkNow()).toBe(false);
    expect(log.warned).toEqual(['TLS files changed but do not load; keeping the previous certificate: tls: private key does not match public key']);
    expect(r.current.fingerprint256).toBe(fpA);
    expect(r.generation).toBe(0);

    writeFileSync(live.certFile, b.certPem);
    expect(r.checkNow()).toBe(true);
    expect(r.current.fingerprint256).toBe(fpB);
    expect(r.generation).toBe(1);
    expect(seen).toEqual([fpB]);

    // A file that disappears is a broken set too.
    rmSync(live.certFile);
    expect(r.checkNow()).toBe(false);
    expect(log.warned[1]).toContain('no such file or directory');
    expect(r.current.fingerprint256).toBe(fpB);
    writeFileSync(live.certFile, a.certPem);
    writeFileSync(live.keyFile, a.keyPem);
    expect(r.checkNow()).toBe(true);
    expect(r.current.fingerprint256).toBe(fpA);
    expect(r.generation).toBe(2);
  });

  it('polls by itself once started', async () => {
    const live = { certFile: join(dir, 'poll.pem'), keyFile: join(dir, 'poll-key.pem'), trustedCaFile: '', crlFile: '' };
    writeFileSync(live.certFile, a.certPem);
    writeFileSync(live.keyFile, a.keyPem);
    const r = new ReloadingTls(live, { logger: quietLogger(), side: 'peer', pollMs: 20 });
    r.start();
    try {
      writeFileSync(live.certFile, b.certPem);
      writeFileSync(live.keyFile, b.keyPem);
      const deadline = Date.now() + 3_000;
      while (r.generation === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
      expect(r.generation).toBe(1);
    } finally {
      r.stop();
    }
  });
});

describe('peerDialer', () => {
  it('dials http:// plainly and https:// with TLS, new credentials after a reload', () => {
    const live = { certFile: join(dir, 'dial.pem'), keyFile: join(dir, 'dial-key.pem'), trustedCaFile: ca.certFile, crlFile: '' };
    writeFileSync(live.certFile, a.certPem);
    writeFileSync(live.keyFile, a.keyPem);
    const source = new ReloadingTls(live, { logger: quietLogger(), side: 'peer', pollMs: 60_000 });
    const d = peerDialer({ source, skipVerify: false });
    expect(d.target('https://127.0.0.1:2380')).toBe('127.0.0.1:2380');
    expect(d.target('http://[::1]:2380')).toBe('[::1]:2380');
    expect(() => d.target('ftp://x:1')).toThrow(/http or https/);
    expect(d.socketOptions('http://127.0.0.1:1')).toEqual({ secure: false, options: { host: '127.0.0.1', port: 1, noDelay: true } });
    const secure = d.socketOptions('https://localhost:2');
    expect(secure.secure).toBe(true);
    expect(secure.secure && secure.options.servername).toBe('localhost');
    expect(secure.secure && secure.options.ALPNProtocols).toEqual(['http/1.1']);
    const c1 = d.grpcCredentials('https://127.0.0.1:2380');
    expect(c1._isSecure()).toBe(true);
    expect(d.grpcCredentials('https://127.0.0.1:2381')).toBe(c1); // cached while the files stay
    expect(d.grpcCredentials('http://127.0.0.1:2380')._isSecure()).toBe(false);
    writeFileSync(live.certFile, b.certPem);
    writeFileSync(live.keyFile, b.keyPem);
    expect(source.checkNow()).toBe(true);
    expect(d.generation).toBe(1);
    expect(d.grpcCredentials('https://127.0.0.1:2380')).not.toBe(c1);
  });
});
