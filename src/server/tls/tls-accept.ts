// Terminates TLS on accepted connections, before the first-bytes sniffing of the
// client and peer listeners (first-bytes.ts), so whatever serves the plaintext
// stream above is unchanged. Node verifies the chain against the trusted CA at
// the handshake; the checks etcd makes after it (the CRL, --peer-cert-allowed-cn,
// the allowed hostname, and on the peer port that the client certificate names
// the address it connects from) run before a single byte is handed on. The
// context follows the files (reloading-tls.ts) for new connections.

import { lookup, reverse } from 'node:dns/promises';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import { recordIdentity } from './caller-identity.js';
import type { ReloadingTls, TlsLog } from './reloading-tls.js';
import { normalizeSerial } from './x509.js';

export interface AcceptPolicy {
  side: 'client' | 'peer';
  /** --client-cert-auth / a trusted CA file (etcd: either requires and verifies client certificates). */
  requireClientCert: boolean;
  allowedCn: string;
  allowedHostname: string;
  /** The peer port's check (etcd's checkSAN), off with --experimental-peer-skip-client-san-verification. */
  checkClientSan: boolean;
}

/** A TLS handshake that has not finished by then is dropped. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** The client SAN check's DNS lookups give up after this long. */
const SAN_LOOKUP_TIMEOUT_MS = 5_000;

export class TlsAcceptor {
  constructor(
    private readonly source: ReloadingTls,
    private readonly policy: AcceptPolicy,
    private readonly logger: Pick<TlsLog, 'warn' | 'debug'>,
  ) {}

  /**
   * A tls.Server (a net.Server: listen/close as usual) whose connections reach
   * onSecure decrypted and checked. Its 'connection' event still carries the raw
   * sockets (for closing them all at shutdown).
   */
  createServer(onSecure: (socket: tls.TLSSocket) => void): tls.Server {
    const server = tls.createServer({
      ...this.source.current.context,
      requestCert: this.policy.requireClientCert,
      rejectUnauthorized: this.policy.requireClientCert,
      // Both protocols on one port, as etcd's cmux; the first bytes decide after all.
      // A client offering both (curl, browsers, Prometheus) is an HTTP client: it gets
      // HTTP/1.1, which the HTTP handlers serve; gRPC clients offer h2 alone.
      ALPNCallback: ({ protocols }) => (protocols.includes('http/1.1') ? 'http/1.1' : protocols.includes('h2') ? 'h2' : undefined),
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    const unsubscribe = this.source.onChange((m) => server.setSecureContext(m.context));
    server.once('close', unsubscribe);
    // A certificate the CA does not vouch for is refused by Node after the handshake,
    // which the client sees as a hang-up: the verify error says why.
    server.on('tlsClientError', (err, socket) =>
      this.rejected(socket, socket.authorizationError ? `tls: failed to verify client certificate: ${String(socket.authorizationError)}` : openSslReason(err)),
    );
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const refusal = this.check(socket);
      if (refusal !== undefined) return this.rejected(socket, refusal);
      if (!this.needsSanCheck(socket)) return this.accept(socket, onSecure);
      void this.checkSan(socket).then((err) => (err === undefined ? this.accept(socket, onSecure) : this.rejected(socket, err)));
    });
    return server;
  }

  private accept(socket: tls.TLSSocket, onSecure: (socket: tls.TLSSocket) => void): void {
    if (socket.destroyed) return;
    const cert = socket.getPeerCertificate();
    if (cert?.raw) recordIdentity(socket, cert);
    onSecure(socket);
  }

  private rejected(socket: tls.TLSSocket, error: string): void {
    // A socket Node already destroyed (a certificate it refused) has no address left to log.
    const remote = socket.remoteAddress ? { 'remote-addr': `${socket.remoteAddress}:${socket.remotePort}` } : {};
    this.logger.warn(
      { side: this.policy.side, ...remote, error: error.trim() },
      'rejected connection',
    );
    socket.destroy();
  }

  /** The synchronous checks: the CRL, the allowed CN or hostname. A refusal's text, or undefined. */
  private check(socket: tls.TLSSocket): string | undefined {
    const leaf = socket.getPeerCertificate(true);
    if (!leaf?.raw) return undefined; // no client certificate asked for
    const revoked = this.source.current.revokedSerials;
    if (revoked.size > 0) {
      // etcd's checkCRL: any certificate of the chain, by serial.
      for (let c: tls.DetailedPeerCertificate | undefined = leaf; c?.raw; c = c.issuerCertificate === c ? undefined : c.issuerCertificate) {
        const serial = normalizeSerial(c.serialNumber);
        if (revoked.has(serial)) return `transport: certificate serial ${serial} revoked`;
      }
    }
    if (this.policy.allowedCn !== '' && leaf.subject?.CN !== this.policy.allowedCn) return 'client certificate authentication failed';
    if (this.policy.allowedHostname !== '' && !validFor(new X509Certificate(leaf.raw), this.policy.allowedHostname)) {
      return 'client certificate authentication failed';
    }
    return undefined;
  }

  private needsSanCheck(socket: tls.TLSSocket): boolean {
    return this.policy.checkClientSan && Boolean(socket.getPeerCertificate()?.raw);
  }

  /**
   * etcd's checkCertSAN: a client certificate with SANs must name the address the
   * connection comes from, by IP, or by a DNS name that resolves to it either way.
   */
  private async checkSan(socket: tls.TLSSocket): Promise<string | undefined> {
    const cert = new X509Certificate(socket.getPeerCertificate().raw);
    const sans = parseSans(cert.subjectAltName);
    if (sans.ips.length === 0 && sans.dns.length === 0) return undefined;
    const host = unmapped(socket.remoteAddress ?? '');
    if (sans.ips.length > 0 && cert.checkIP(host) !== undefined) return undefined;
    if (sans.dns.length === 0) return `x509: certificate is valid for ${sans.ips.join(', ')}, not ${host}`;
    const ok = await withTimeout(hostInDns(host, sans.dns), SAN_LOOKUP_TIMEOUT_MS).catch(() => false);
    return ok ? undefined : `tls: ${JSON.stringify(host)} does not match any of DNSNames ${JSON.stringify(sans.dns)}`;
  }
}

/** OpenSSL's reason ("peer did not return a certificate") rather than its whole error line. */
function openSslReason(err: Error): string {
  const reason = (err as { reason?: unknown }).reason;
  return typeof reason === 'string' && reason !== '' ? `tls: ${reason}` : err.message;
}

/** Go's VerifyHostname: an IP against the IP SANs, a name against the DNS SANs. */
function validFor(cert: X509Certificate, host: string): boolean {
  return isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host, { subject: 'never' }) !== undefined;
}

function unmapped(addr: string): string {
  return addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
}

export function parseSans(subjectAltName: string | undefined): { ips: string[]; dns: string[] } {
  const ips: string[] = [];
  const dns: string[] = [];
  for (const part of (subjectAltName ?? '').split(/,\s*/)) {
    if (part.startsWith('IP Address:')) ips.push(part.slice('IP Address:'.length));
    else if (part.startsWith('DNS:')) dns.push(part.slice('DNS:'.length));
  }
  return { ips, dns };
}

async function hostInDns(host: string, names: string[]): Promise<boolean> {
  const wildcards = names.filter((n) => n.startsWith('*.')).map((n) => n.slice(1));
  const plain = names.filter((n) => !n.startsWith('*.'));
  const reversed = await reverse(host).catch(() => [] as string[]);
  for (const raw of reversed) {
    const name = raw.replace(/\.$/, '');
    if (plain.includes(name) || wildcards.some((w) => name.endsWith(w))) return true;
  }
  for (const name of plain) {
    const addrs = await lookup(name, { all: true }).catch(() => []);
    if (addrs.some((a) => unmapped(a.address) === host)) return true;
  }
  return false;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    t.unref();
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e as Error)),
    );
  });
}
