// --cipher-suites: etcd takes Go's cipher suite names (crypto/tls), Node takes
// OpenSSL's. The table maps every name etcd 3.4 accepts; a name etcd does not
// know is refused with etcd's error, and one it knows but this Node's OpenSSL
// cannot do (RC4, 3DES) is refused saying so. As in Go, the list only governs
// TLS 1.2: TLS 1.3's suites are always on (Go ignores them in the list; so do we).

import { getCiphers } from 'node:tls';

/** Go name → OpenSSL name (TLS 1.2 and earlier). */
const GO_TO_OPENSSL: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  // etcd's tlsutil also accepts these two spellings.
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
};

/** TLS 1.3 suites: Go lists them, and ignores them in a configuration. */
const TLS13 = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

/** What OpenSSL enables for TLS 1.3 by default; appended so that a TLS 1.2 list does not turn 1.3 off. */
const TLS13_OPENSSL = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

export class CipherSuiteError extends Error {}

/**
 * The `ciphers` option for node:tls from etcd's comma-separated names, in the
 * given order (etcd: "prioritized in the given order"); undefined for an empty
 * list (Node's defaults, as Go's are etcd's).
 */
export function opensslCiphers(names: readonly string[], available: readonly string[] = getCiphers()): string | undefined {
  if (names.length === 0) return undefined;
  const have = new Set(available.map((c) => c.toUpperCase()));
  const out: string[] = [];
  for (const name of names) {
    if (TLS13.has(name)) continue;
    const openssl = GO_TO_OPENSSL[name];
    if (openssl === undefined) throw new CipherSuiteError(`unexpected TLS cipher suite "${name}"`);
    if (!have.has(openssl)) {
      throw new CipherSuiteError(`TLS cipher suite "${name}" (OpenSSL ${openssl}) is not available in this Node.js build's OpenSSL`);
    }
    if (!out.includes(openssl)) out.push(openssl);
  }
  return [...out, TLS13_OPENSSL].join(':');
}
