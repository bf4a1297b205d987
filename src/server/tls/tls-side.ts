// One side's TLS (the client port's or the peer port's), set up at start-up as
// etcd's configureClientListeners / configurePeerListeners do: --auto-tls makes
// (or reuses) a self-signed pair under <data-dir>/fixtures/<side> when no files
// are given, the files are loaded (a broken one fails the start), the acceptor
// for https:// listeners and, on the peer side, the dialer are built, and the
// files are then watched for changes.

import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { peerDialer, type PeerDialer } from './peer-dialer.js';
import { ReloadingTls } from './reloading-tls.js';
import { selfCert } from './self-cert.js';
import { TlsAcceptor } from './tls-accept.js';
import { describeTlsFlags, NO_TLS_FLAGS, noCertGiven, requiresClientCert, type TlsFlags } from './tls-flags.js';

export interface TlsSide {
  readonly source: ReloadingTls;
  readonly acceptor: TlsAcceptor;
  /** Auto TLS: the certificate is self-signed, so dialers do not verify the other side's (etcd: InsecureSkipVerify). */
  readonly selfSigned: boolean;
  stop(): void;
}

type Side = 'client' | 'peer';

function setUp(side: Side, given: TlsFlags, cfg: Config, hosts: string[], logger: Logger): TlsSide | undefined {
  let flags = given;
  let selfSigned = false;
  if (given.autoTls) {
    if (!noCertGiven(given)) {
      logger.warn({}, `ignoring ${side} auto TLS since certs given`);
    } else {
      // As etcd's SelfCert: the generated pair replaces the side's TLS settings wholesale.
      flags = { ...NO_TLS_FLAGS, ...selfCert(join(cfg.dataDir, 'fixtures', side), hosts, logger) };
      selfSigned = true;
    }
  }
  if (noCertGiven(flags)) return undefined;
  const source = new ReloadingTls(
    { certFile: flags.certFile, keyFile: flags.keyFile, trustedCaFile: flags.trustedCaFile, crlFile: flags.crlFile },
    { ciphers: cfg.ciphers, logger, side },
  );
  const acceptor = new TlsAcceptor(
    source,
    {
      side,
      requireClientCert: requiresClientCert(flags),
      allowedCn: flags.allowedCn,
      allowedHostname: flags.allowedHostname,
      checkClientSan: side === 'peer' && !cfg.peerSkipClientSanVerify,
    },
    logger,
  );
  logger.info(
    { 'tls-info': describeTlsFlags(flags), 'cipher-suites': cfg.cipherSuites, fingerprint: source.current.fingerprint256 },
    `starting with ${side} TLS`,
  );
  source.start();
  return { source, acceptor, selfSigned, stop: () => source.stop() };
}

const hostsOf = (urls: URL[]): string[] => urls.map((u) => u.hostname.replace(/^\[|\]$/g, ''));

/** The client port's TLS (https:// client and metrics URLs), or undefined without certificates. */
export function clientTlsSide(cfg: Config, logger: Logger): TlsSide | undefined {
  const used = [...cfg.listenClientUrls, ...cfg.listenMetricsUrls].some((u) => u.protocol === 'https:');
  for (const u of cfg.listenClientUrls) {
    if (u.protocol === 'http:' && !noCertGiven(cfg.clientTls)) {
      logger.warn({ 'client-url': u.href }, 'scheme is HTTP while key and cert files are present; ignoring key and cert files');
    }
  }
  // etcd makes the self-signed pair only when a listener needs it; given files are loaded when used.
  if (!used) return undefined;
  return setUp('client', cfg.clientTls, cfg, hostsOf(cfg.listenClientUrls), logger);
}

/** The peer port's TLS and how this member dials its peers. */
export function peerTlsSide(cfg: Config, logger: Logger): { side: TlsSide | undefined; dialer: PeerDialer } {
  for (const u of cfg.listenPeerUrls) {
    if (u.protocol === 'http:' && !noCertGiven(cfg.peerTls)) {
      logger.warn({ 'peer-url': u.href }, 'scheme is HTTP while key and cert files are present; ignoring key and cert files');
    }
  }
  const side = setUp('peer', cfg.peerTls, cfg, hostsOf(cfg.listenPeerUrls), logger);
  return { side, dialer: peerDialer(side ? { source: side.source, skipVerify: side.selfSigned } : undefined) };
}
