// X.509 certificates and CRLs, written with node:crypto keys and signatures and
// der.ts: what --auto-tls needs (a self-signed server certificate, as etcd's
// transport.SelfCert makes), what the tests need (CAs, certificates they sign,
// CRLs), and reading a CRL's revoked serial numbers (--client-crl-file,
// --peer-crl-file). ECDSA keys only (etcd's self-signed certificates are ECDSA);
// node's X509Certificate and OpenSSL read the results.

import * as crypto from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitStringBytes,
  boolean,
  children,
  DER_TAG,
  DerError,
  explicit,
  implicitPrimitive,
  integerHex,
  namedBits,
  octetString,
  oid,
  readTlv,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der.js';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** KeyUsage bits (RFC 5280 4.2.1.3). */
const KU = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

export interface DistinguishedName {
  commonName?: string;
  organization?: string;
}

export interface Signer {
  name: DistinguishedName;
  key: crypto.KeyObject;
  /** The signer's subject key identifier (its public key's SHA-1), for the AuthorityKeyIdentifier. */
  keyId: Buffer;
}

export interface CertificateSpec {
  subject: DistinguishedName;
  publicKey: crypto.KeyObject;
  /** Omitted: self-signed (the subject signs with `selfKey`). */
  issuer?: Signer;
  selfKey?: crypto.KeyObject;
  isCa?: boolean;
  /** Host names and IP addresses for the SubjectAltName. */
  hosts?: string[];
  usages?: ('server' | 'client')[];
  notBefore?: Date;
  notAfter?: Date;
  /** Big-endian magnitude; random 16 bytes when omitted. */
  serial?: Buffer;
}

export interface CrlSpec {
  issuer: Signer;
  /** Serials (big-endian magnitudes, as certificate serials). */
  revoked: Buffer[];
  thisUpdate?: Date;
  nextUpdate?: Date;
  crlNumber?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function generateEcKey(): { privateKey: crypto.KeyObject; publicKey: crypto.KeyObject } {
  return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** A positive 128-bit serial whose first byte is never 0 (minimal DER, as Go's and OpenSSL's). */
export function randomSerial(): Buffer {
  const b = crypto.randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b;
}

export function keyId(publicKey: crypto.KeyObject): Buffer {
  // RFC 5280 method 1: SHA-1 of the subjectPublicKey bits (the SPKI's BIT STRING content).
  const spki = readTlv(publicKey.export({ type: 'spki', format: 'der' })).node;
  const bits = children(spki)[1]!;
  return crypto.createHash('sha1').update(bits.content.subarray(1)).digest();
}

function name(dn: DistinguishedName): Buffer {
  const rdns: Buffer[] = [];
  if (dn.organization !== undefined) rdns.push(set(sequence(oid(OID.organization), utf8String(dn.organization))));
  if (dn.commonName !== undefined) rdns.push(set(sequence(oid(OID.commonName), utf8String(dn.commonName))));
  return sequence(...rdns);
}

function signatureAlgorithm(key: crypto.KeyObject): { der: Buffer; hash: string } {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec') throw new Error(`x509: only ECDSA keys are supported (got ${key.asymmetricKeyType})`);
  if (curve === 'secp521r1') return { der: sequence(oid(OID.ecdsaWithSha512)), hash: 'sha512' };
  if (curve === 'secp384r1') return { der: sequence(oid(OID.ecdsaWithSha384)), hash: 'sha384' };
  return { der: sequence(oid(OID.ecdsaWithSha256)), hash: 'sha256' };
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function subjectAltName(hosts: string[]): Buffer {
  return sequence(
    ...hosts.map((h) => {
      const bare = h.replace(/^\[|\]$/g, '');
      const family = isIP(bare);
      if (family === 0) return implicitPrimitive(2, Buffer.from(bare, 'ascii'));
      return implicitPrimitive(7, ipBytes(bare, family));
    }),
  );
}

function ipBytes(ip: string, family: number): Buffer {
  if (family === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** A signed certificate, as DER. */
export function buildCertificate(spec: CertificateSpec): Buffer {
  const signerKey = spec.issuer?.key ?? spec.selfKey;
  if (!signerKey) throw new Error('x509: a certificate needs an issuer or its own private key');
  const alg = signatureAlgorithm(signerKey);
  const notBefore = spec.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = spec.notAfter ?? new Date(notBefore.getTime() + 365 * DAY_MS);
  const ownKeyId = keyId(spec.publicKey);
  const authorityKeyId = spec.issuer?.keyId ?? ownKeyId;
  const usages = spec.usages ?? ['server'];
  const extensions = [
    extension(OID.basicConstraints, true, spec.isCa ? sequence(boolean(true)) : sequence()),
    extension(
      OID.keyUsage,
      true,
      namedBits(spec.isCa ? [KU.digitalSignature, KU.keyCertSign, KU.cRLSign] : [KU.digitalSignature, KU.keyEncipherment]),
    ),
    ...(spec.isCa ? [] : [extension(OID.extKeyUsage, false, sequence(...usages.map((u) => oid(u === 'server' ? OID.serverAuth : OID.clientAuth))))]),
    extension(OID.subjectKeyId, false, octetString(ownKeyId)),
    extension(OID.authorityKeyId, false, sequence(implicitPrimitive(0, authorityKeyId))),
    ...(spec.hosts && spec.hosts.length > 0 ? [extension(OID.subjectAltName, false, subjectAltName(spec.hosts))] : []),
  ];
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(spec.serial ?? randomSerial()),
    alg.der,
    name(spec.issuer?.name ?? spec.subject),
    sequence(time(notBefore), time(notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
  return sequence(tbs, alg.der, bitStringBytes(crypto.sign(alg.hash, tbs, signerKey)));
}

/** A signed v2 CRL, as DER. */
export function buildCrl(spec: CrlSpec): Buffer {
  const alg = signatureAlgorithm(spec.issuer.key);
  const thisUpdate = spec.thisUpdate ?? new Date(Date.now() - 60_000);
  const nextUpdate = spec.nextUpdate ?? new Date(thisUpdate.getTime() + 30 * DAY_MS);
  const revoked = spec.revoked.map((serial) => sequence(unsignedInteger(serial), time(thisUpdate)));
  const tbs = sequence(
    smallInteger(1),
    alg.der,
    name(spec.issuer.name),
    time(thisUpdate),
    time(nextUpdate),
    ...(revoked.length > 0 ? [sequence(...revoked)] : []),
    explicit(
      0,
      sequence(
        extension(OID.authorityKeyId, false, sequence(implicitPrimitive(0, spec.issuer.keyId))),
        extension(OID.crlNumber, false, smallInteger(spec.crlNumber ?? 1)),
      ),
    ),
  );
  return sequence(tbs, alg.der, bitStringBytes(crypto.sign(alg.hash, tbs, spec.issuer.key)));
}

export function pem(label: 'CERTIFICATE' | 'X509 CRL', der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The DER blocks of one PEM label in a file, or the whole file when it is DER already. */
export function pemBlocks(data: Buffer, label: string): Buffer[] {
  const text = data.toString('latin1');
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  const out: Buffer[] = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  if (out.length === 0 && data.length > 0 && data[0] === DER_TAG.sequence) out.push(data);
  return out;
}

/**
 * The serial numbers a CRL revokes, as lower-case hex without leading zeros (how
 * serials are compared: etcd's checkCRL compares the big-endian magnitudes). PEM
 * or DER, as Go's x509.ParseCRL accepts. The signature is not checked: etcd does
 * not check it either; the file is the operator's.
 */
export function crlRevokedSerials(data: Buffer): Set<string> {
  const blocks = pemBlocks(data, 'X509 CRL');
  if (blocks.length === 0) throw new DerError('no CRL found in the file (neither PEM "X509 CRL" nor DER)');
  const out = new Set<string>();
  for (const block of blocks) {
    const top = readTlv(block).node;
    if (top.tag !== DER_TAG.sequence) throw new DerError('a CRL is a SEQUENCE');
    const tbs = children(top)[0];
    if (!tbs || tbs.tag !== DER_TAG.sequence) throw new DerError('a CRL starts with its TBSCertList');
    const fields = children(tbs);
    let i = 0;
    if (fields[i]?.tag === DER_TAG.integer) i++; // version
    i += 2; // signature algorithm, issuer
    if (fields[i]?.tag !== DER_TAG.utcTime && fields[i]?.tag !== DER_TAG.generalizedTime) throw new DerError('a CRL needs its thisUpdate time');
    i++;
    if (fields[i]?.tag === DER_TAG.utcTime || fields[i]?.tag === DER_TAG.generalizedTime) i++; // nextUpdate
    const list = fields[i];
    if (list?.tag !== DER_TAG.sequence) continue; // no revoked certificates
    for (const entry of children(list)) {
      const serial = children(entry)[0];
      if (!serial) throw new DerError('a revoked entry needs its serial number');
      out.add(integerHex(serial));
    }
  }
  return out;
}

/** A certificate serial (node's hex form, or bytes) the way crlRevokedSerials names it. */
export function normalizeSerial(serial: string | Buffer): string {
  const hex = (typeof serial === 'string' ? serial : serial.toString('hex')).toLowerCase().replace(/^0+/, '');
  return hex === '' ? '0' : hex;
}
