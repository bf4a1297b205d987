// What the TLS flags of one side (client or peer) say, and the checks etcd 3.4
// makes of them before serving, with etcd's words. Pure: no files are read here
// (material.ts reads them).

export interface TlsFlags {
  /** --cert-file / --peer-cert-file. */
  certFile: string;
  /** --key-file / --peer-key-file. */
  keyFile: string;
  /** --trusted-ca-file / --peer-trusted-ca-file: given alone, it already requires client certificates (etcd's ServerConfig). */
  trustedCaFile: string;
  /** --client-cert-auth / --peer-client-cert-auth. */
  clientCertAuth: boolean;
  /** --client-crl-file / --peer-crl-file. */
  crlFile: string;
  /** --auto-tls / --peer-auto-tls: a self-signed certificate under <data-dir>/fixtures when no cert/key is given. */
  autoTls: boolean;
  /** --peer-cert-allowed-cn (peer only): the client certificate's CN must be this. */
  allowedCn: string;
  /** --client-cert-allowed-hostname / --peer-cert-allowed-hostname: the client certificate must be valid for this host. */
  allowedHostname: string;
}

export const NO_TLS_FLAGS: TlsFlags = {
  certFile: '',
  keyFile: '',
  trustedCaFile: '',
  clientCertAuth: false,
  crlFile: '',
  autoTls: false,
  allowedCn: '',
  allowedHostname: '',
};

/** etcd's TLSInfo.Empty(): neither a cert nor a key file. */
export function noCertGiven(f: TlsFlags): boolean {
  return f.certFile === '' && f.keyFile === '';
}

/** Whether connections must present a certificate signed by the trusted CA. */
export function requiresClientCert(f: TlsFlags): boolean {
  return f.trustedCaFile !== '' || f.clientCertAuth;
}

/** etcd's baseConfig checks, run whenever a side serves or dials TLS. Throws with etcd's text. */
export function checkTlsFlags(f: TlsFlags): void {
  if (f.keyFile === '' || f.certFile === '') {
    throw new Error(`KeyFile and CertFile must both be present[key: ${f.keyFile}, cert: ${f.certFile}]`);
  }
  if (f.allowedCn !== '' && f.allowedHostname !== '') {
    throw new Error(`AllowedCN and AllowedHostname are mutually exclusive (cn=${JSON.stringify(f.allowedCn)}, hostname=${JSON.stringify(f.allowedHostname)})`);
  }
}

/** A one-line description for the start-up log, as etcd's TLSInfo.String(). */
export function describeTlsFlags(f: TlsFlags): string {
  return `cert = ${f.certFile}, key = ${f.keyFile}, trusted-ca = ${f.trustedCaFile}, client-cert-auth = ${f.clientCertAuth}, crl-file = ${f.crlFile}`;
}
