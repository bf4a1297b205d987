// etcdctl over https:// (--cacert --cert --key or --insecure-skip-tls-verify), and
// the SHA-256 fingerprint of the certificate a port serves (what a new connection
// sees), for the TLS e2e tests.

import { execFile } from 'node:child_process';
import * as tls from 'node:tls';
import type { CtlResult } from './etcd-process.js';

export interface CtlTls {
  cacert?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify?: boolean;
}

export function tlsFlags(t: CtlTls): string[] {
  return [
    ...(t.cacert ? ['--cacert', t.cacert] : []),
    ...(t.cert ? ['--cert', t.cert] : []),
    ...(t.key ? ['--key', t.key] : []),
    // etcdctl 3.4 dials TLS without other TLS flags only when told --insecure-transport=false.
    ...(t.insecureSkipVerify ? ['--insecure-transport=false', '--insecure-skip-tls-verify'] : []),
  ];
}

/** `etcdctl --endpoints=<endpoints> <tls flags> ...args`, killed after timeoutMs. */
export function etcdctlTls(endpoints: string, t: CtlTls, args: string[], timeoutMs = 20_000): Promise<CtlResult> {
  return new Promise((res) => {
    const child = execFile(
      'etcdctl',
      [`--endpoints=${endpoints}`, '--dial-timeout=3s', '--command-timeout=5s', ...tlsFlags(t), ...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' },
      (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

/** The last line etcdctl wrote to stderr ("Error: ..."), without its JSON warnings. */
export function lastErrorLine(r: CtlResult): string {
  return r.stderr.trim().split('\n').filter((l) => !l.startsWith('{')).pop() ?? '';
}

/** Connects, reads the served certificate's fingerprint, disconnects. Bounded. */
export function servedFingerprint(port: number, opts: tls.ConnectionOptions = {}, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'], ...opts }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fp);
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timed out')));
    socket.once('error', reject);
  });
}
