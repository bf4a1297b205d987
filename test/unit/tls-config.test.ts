// The TLS flags as etcd 3.4.23 parses and checks them. The error texts are what
// etcd 3.4.23 printed for the same flags (recorded by running it: its fatal line
// "etcdmain: <text>"), except where a comment says otherwise.
import { describe, expect, it } from 'vitest';
import { parseArgs, type Config } from '../../src/server/config.js';
import { opensslCiphers } from '../../src/server/tls/cipher-suites.js';
import { FLAG_BY_NAME } from '../../src/server/flags.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const r = parseArgs(['--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster', 'default=http://127.0.0.1:2380', ...argv], env);
  if (r.kind !== 'run') throw new Error(`expected a run config, got ${r.kind}`);
  return r.config;
}
const https = ['--listen-client-urls', 'https://127.0.0.1:2379', '--advertise-client-urls', 'https://127.0.0.1:2379'];
const httpsPeer = (extra: string[] = []): Config => {
  const r = parseArgs(['--listen-peer-urls', 'https://127.0.0.1:2380', '--initial-advertise-peer-urls', 'https://127.0.0.1:2380', '--initial-cluster', 'default=https://127.0.0.1:2380', ...extra]);
  if (r.kind !== 'run') throw new Error('run');
  return r.config;
};

describe('TLS flags', () => {
  it('parses every client and peer TLS flag, from the command line and ETCD_* variables', () => {
    const c = run([
      ...https, '--cert-file', 's.pem', '--key-file', 's-key.pem', '--trusted-ca-file', 'ca.pem', '--client-cert-auth',
      '--client-crl-file', 'c.crl', '--client-cert-allowed-hostname', 'client.example', '--peer-cert-allowed-cn', 'member',
      '--experimental-peer-skip-client-san-verification',
    ], { ETCD_PEER_CERT_FILE: 'p.pem', ETCD_PEER_KEY_FILE: 'p-key.pem', ETCD_PEER_TRUSTED_CA_FILE: 'pca.pem', ETCD_PEER_CLIENT_CERT_AUTH: 'true', ETCD_PEER_CRL_FILE: 'p.crl', ETCD_PEER_AUTO_TLS: 'false' });
    expect(c.clientTls).toEqual({
      certFile: 's.pem', keyFile: 's-key.pem', trustedCaFile: 'ca.pem', clientCertAuth: true, crlFile: 'c.crl',
      autoTls: false, allowedCn: '', allowedHostname: 'client.example',
    });
    expect(c.peerTls).toEqual({
      certFile: 'p.pem', keyFile: 'p-key.pem', trustedCaFile: 'pca.pem', clientCertAuth: true, crlFile: 'p.crl',
      autoTls: false, allowedCn: 'member', allowedHostname: '',
    });
    expect(c.peerSkipClientSanVerify).toBe(true);
    expect(c.listenClientUrls[0]!.protocol).toBe('https:');
    expect(c.envUsed).toContain('ETCD_PEER_CERT_FILE=p.pem');
  });

  it('an https client URL needs a cert and key (or --auto-tls)', () => {
    expect(() => run(https)).toThrow('TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS scheme');
    expect(() => run([...https, '--cert-file', 'server.pem'])).toThrow('KeyFile and CertFile must both be present[key: , cert: server.pem]');
    expect(() => run([...https, '--key-file', 'server-key.pem'])).toThrow('KeyFile and CertFile must both be present[key: server-key.pem, cert: ]');
    expect(run([...https, '--auto-tls']).clientTls.autoTls).toBe(true);
    // As etcd: with certificates given, --auto-tls is ignored (a warning at start-up), and the pair must be whole.
    expect(() => run([...https, '--auto-tls', '--cert-file', 'server.pem'])).toThrow('KeyFile and CertFile must both be present[key: , cert: server.pem]');
  });

  it('client TLS files with only http:// URLs are not an error (etcd ignores them with a warning)', () => {
    expect(run(['--cert-file', 'server.pem']).clientTls.certFile).toBe('server.pem');
  });

  it('an https peer URL needs peer certificates; given peer files are always checked', () => {
    expect(() => httpsPeer()).toThrow('cannot listen on TLS for 127.0.0.1:2380: KeyFile and CertFile are not presented');
    expect(httpsPeer(['--peer-auto-tls']).peerTls.autoTls).toBe(true);
    expect(() => run(['--peer-cert-file', 'server.pem'])).toThrow('KeyFile and CertFile must both be present[key: , cert: server.pem]');
    expect(() => httpsPeer(['--peer-cert-file', 's.pem', '--peer-key-file', 'k.pem', '--peer-cert-allowed-cn', 'x', '--peer-cert-allowed-hostname', 'y']))
      .toThrow('AllowedCN and AllowedHostname are mutually exclusive (cn="x", hostname="y")');
  });

  it('an https metrics URL needs the client certificates', () => {
    expect(() => run(['--listen-metrics-urls', 'https://127.0.0.1:2381'])).toThrow('cannot listen on TLS for 127.0.0.1:2381: KeyFile and CertFile are not presented');
    expect(run(['--listen-metrics-urls', 'https://127.0.0.1:2381', '--cert-file', 'a', '--key-file', 'b']).listenMetricsUrls[0]!.protocol).toBe('https:');
  });

  it('--cipher-suites maps Go names to OpenSSL, refuses unknown ones as etcd does and ones OpenSSL lacks clearly', () => {
    const c = run(['--cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_AES_128_GCM_SHA256']);
    expect(c.cipherSuites).toEqual(['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305', 'TLS_AES_128_GCM_SHA256']);
    expect(c.ciphers).toBe('ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256');
    expect(run([]).ciphers).toBeUndefined();
    expect(() => run(['--cipher-suites', 'BOGUS'])).toThrow('unexpected TLS cipher suite "BOGUS"');
    // Not etcd's text (Go still has RC4): this Node's OpenSSL does not.
    expect(() => opensslCiphers(['TLS_RSA_WITH_RC4_128_SHA'], ['aes128-sha'])).toThrow(/TLS_RSA_WITH_RC4_128_SHA.*RC4-SHA.*not available/);
  });

  it('refuses --tls-min-version and --tls-max-version as etcd 3.4.23 does (they come with 3.5)', () => {
    expect(FLAG_BY_NAME.has('tls-min-version')).toBe(false);
    expect(() => run(['--tls-min-version', 'TLS1.2'])).toThrow('flag provided but not defined: -tls-min-version');
    expect(() => run(['--tls-max-version=TLS1.3'])).toThrow('flag provided but not defined: -tls-max-version');
  });

  it('unix sockets stay refused, other schemes with etcd\'s text', () => {
    expect(() => run(['--listen-client-urls', 'unixs://x:1'])).toThrow(/unix sockets/);
    expect(() => run(['--listen-client-urls', 'ftp://x:1'])).toThrow('URL scheme must be http, https, unix, or unixs: ftp://x:1');
  });
});
