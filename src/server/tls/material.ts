// Reads one side's TLS files (cert, key, trusted CA, CRL) into what node:tls
// takes, checking them the way etcd does before it serves (a missing file, a
// key that is not a key or does not match the certificate: etcd's words), so a
// broken file fails at start-up or, on a reload, leaves the old material in use.

import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { crlRevokedSerials, pemBlocks } from './x509.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** '' when none. */
  trustedCaFile: string;
  /** '' when none. */
  crlFile: string;
}

export interface TlsMaterial {
  /** For tls.createServer, Server#setSecureContext, tls.connect and gRPC channel credentials. */
  readonly context: tls.SecureContextOptions;
  /** Serials the CRL revokes (normalizeSerial's form); empty without a CRL. */
  readonly revokedSerials: ReadonlySet<string>;
  /** SHA-256 fingerprint of the leaf certificate (X509Certificate's form), for logs and tests. */
  readonly fingerprint256: string;
}

export class TlsMaterialError extends Error {}

export interface MaterialOptions {
  /** The `ciphers` string (cipher-suites.ts); undefined: Node's defaults. */
  ciphers?: string | undefined;
}

/** Go's os error text, which etcd prints: "open nope.pem: no such file or directory". */
function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EISDIR: 'is a directory',
    };
    throw new TlsMaterialError(`open ${path}: ${why[e.code ?? ''] ?? e.message}`);
  }
}

/** The bytes of every file, for noticing a change (the files are small). */
export function filesDigest(files: TlsFiles): string {
  const h = crypto.createHash('sha256');
  for (const path of [files.certFile, files.keyFile, files.trustedCaFile, files.crlFile]) {
    if (path === '') continue;
    try {
      h.update(readFileSync(path));
    } catch (err) {
      h.update(`missing:${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    h.update('\0');
  }
  return h.digest('hex');
}

export function loadTlsMaterial(files: TlsFiles, opts: MaterialOptions = {}): TlsMaterial {
  const cert = readFile(files.certFile);
  const key = readFile(files.keyFile);
  const ca = files.trustedCaFile === '' ? undefined : readFile(files.trustedCaFile);
  const crl = files.crlFile === '' ? undefined : readFile(files.crlFile);

  const certs = pemBlocks(cert, 'CERTIFICATE');
  if (certs.length === 0) throw new TlsMaterialError(`tls: failed to find any PEM data in certificate input (${files.certFile})`);
  let leaf: crypto.X509Certificate;
  try {
    leaf = new crypto.X509Certificate(certs[0]!);
  } catch (err) {
    throw new TlsMaterialError(`tls: failed to parse certificate in ${files.certFile}: ${(err as Error).message}`);
  }
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch {
    if (pemBlocks(key, 'CERTIFICATE').length > 0 && !/PRIVATE KEY-----/.test(key.toString('latin1'))) {
      throw new TlsMaterialError('tls: found a certificate rather than a key in the PEM for the private key');
    }
    throw new TlsMaterialError(`tls: failed to find any PEM data in key input (${files.keyFile})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new TlsMaterialError('tls: private key does not match public key');
  if (ca !== undefined && pemBlocks(ca, 'CERTIFICATE').length === 0) {
    throw new TlsMaterialError(`no certificate found in trusted CA file ${files.trustedCaFile}`);
  }
  let revokedSerials: ReadonlySet<string> = new Set();
  if (crl !== undefined) {
    try {
      revokedSerials = crlRevokedSerials(crl);
    } catch (err) {
      throw new TlsMaterialError(`cannot parse CRL file ${files.crlFile}: ${(err as Error).message}`);
    }
  }
  const context: tls.SecureContextOptions = {
    cert,
    key,
    ...(ca !== undefined ? { ca } : {}),
    // etcd's baseConfig: MinVersion TLS 1.2.
    minVersion: 'TLSv1.2',
    ...(opts.ciphers !== undefined ? { ciphers: opts.ciphers } : {}),
  };
  try {
    tls.createSecureContext(context); // OpenSSL's own checks (a CA file it cannot use, a cipher list it refuses)
  } catch (err) {
    throw new TlsMaterialError(`tls: ${(err as Error).message}`);
  }
  return { context, revokedSerials, fingerprint256: leaf.fingerprint256 };
}
