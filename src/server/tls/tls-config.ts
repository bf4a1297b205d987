// The TLS part of the configuration: the client and peer flag sets, the cipher
// list, and the checks etcd 3.4 makes of them against the URLs before serving,
// with etcd's texts. Pure (no files are read: material.ts does that at start-up).

import { CipherSuiteError, opensslCiphers } from './cipher-suites.js';
import { checkTlsFlags, noCertGiven, type TlsFlags } from './tls-flags.js';

export interface TlsConfig {
  clientTls: TlsFlags;
  peerTls: TlsFlags;
  /** --cipher-suites as given (Go names). */
  cipherSuites: string[];
  /** The same as an OpenSSL cipher string; undefined: Node's defaults. */
  ciphers: string | undefined;
  /** --experimental-peer-skip-client-san-verification. */
  peerSkipClientSanVerify: boolean;
}

export class TlsConfigError extends Error {}

export interface TlsUrls {
  listenClientUrls: URL[];
  listenMetricsUrls: URL[];
  listenPeerUrls: URL[];
}

const isTls = (u: URL): boolean => u.protocol === 'https:';
const hostPort = (u: URL): string => u.host;
const text = (u: URL): string => `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;

export function tlsConfig(get: (flag: string) => string, bool: (v: string) => boolean, urls: TlsUrls): TlsConfig {
  const side = (prefix: 'client' | 'peer'): TlsFlags => {
    const p = prefix === 'peer' ? 'peer-' : '';
    return {
      certFile: get(`${p}cert-file`),
      keyFile: get(`${p}key-file`),
      trustedCaFile: get(`${p}trusted-ca-file`),
      clientCertAuth: bool(get(prefix === 'peer' ? 'peer-client-cert-auth' : 'client-cert-auth')),
      crlFile: get(prefix === 'peer' ? 'peer-crl-file' : 'client-crl-file'),
      autoTls: bool(get(`${p}auto-tls`)),
      allowedCn: prefix === 'peer' ? get('peer-cert-allowed-cn') : '',
      allowedHostname: get(prefix === 'peer' ? 'peer-cert-allowed-hostname' : 'client-cert-allowed-hostname'),
    };
  };
  const clientTls = side('client');
  const peerTls = side('peer');
  const cipherSuites = get('cipher-suites').split(',').map((s) => s.trim()).filter((s) => s !== '');
  let ciphers: string | undefined;
  try {
    ciphers = opensslCiphers(cipherSuites);
  } catch (err) {
    if (err instanceof CipherSuiteError) throw new TlsConfigError(err.message);
    throw err;
  }
  const fail = (f: () => void): void => {
    try {
      f();
    } catch (err) {
      throw new TlsConfigError((err as Error).message);
    }
  };

  // Client side: used only by https:// client and metrics URLs (etcd warns and ignores the files otherwise).
  const clientSelfSigned = clientTls.autoTls && noCertGiven(clientTls);
  for (const u of urls.listenClientUrls.filter(isTls)) {
    if (noCertGiven(clientTls) && !clientSelfSigned) {
      throw new TlsConfigError(`TLS key/cert (--cert-file, --key-file) must be provided for client url ${text(u)} with HTTPS scheme`);
    }
  }
  for (const u of urls.listenMetricsUrls.filter(isTls)) {
    if (noCertGiven(clientTls) && !clientSelfSigned) throw new TlsConfigError(`cannot listen on TLS for ${hostPort(u)}: KeyFile and CertFile are not presented`);
  }
  if ([...urls.listenClientUrls, ...urls.listenMetricsUrls].some(isTls) && !clientSelfSigned) fail(() => checkTlsFlags(clientTls));

  // Peer side: the files are also what this member dials its peers with, so given files are always checked.
  const peerSelfSigned = peerTls.autoTls && noCertGiven(peerTls);
  for (const u of urls.listenPeerUrls.filter(isTls)) {
    if (noCertGiven(peerTls) && !peerSelfSigned) throw new TlsConfigError(`cannot listen on TLS for ${hostPort(u)}: KeyFile and CertFile are not presented`);
  }
  if (!noCertGiven(peerTls)) fail(() => checkTlsFlags(peerTls));

  return { clientTls, peerTls, cipherSuites, ciphers, peerSkipClientSanVerify: bool(get('experimental-peer-skip-client-san-verification')) };
}
