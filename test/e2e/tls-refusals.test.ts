// Start-up refusals of bad TLS configurations, with the words etcd 3.4.23 uses.
// Each case runs bin/etcd-ts and, when etcd 3.4 is on PATH, the real etcd with the
// same flags: both must exit non-zero, and both outputs must contain the text
// (recorded from etcd 3.4.23; running it keeps the literals honest).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { etcdIs34, IN_CI } from './helpers/etcd-process.js';
import { BIN, freePort, REPO } from './helpers/member.js';
import { makeCa, makeCert } from './helpers/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-tls-refuse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const WITH_ETCD = etcdIs34();
if (!WITH_ETCD && IN_CI) throw new Error('etcd 3.4 must be on PATH in CI');

const ca = makeCa(dir, 'ca');
const server = makeCert(dir, ca, 'server', 'server');
const other = makeCert(dir, ca, 'other', 'other');

/** Runs a member with `args` until it exits (killed after timeoutMs): exit code and everything it printed. */
function runToExit(impl: 'etcd-ts' | 'etcd', args: string[], timeoutMs = 15_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const dataDir = mkdtempSync(join(dir, `${impl}-`));
    const proc = impl === 'etcd' ? spawn('etcd', ['--data-dir', dataDir, ...args]) : spawn(BIN, ['--data-dir', dataDir, ...args], { cwd: REPO });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

async function urls(clientScheme: string, peerScheme: string): Promise<string[]> {
  const c = `${clientScheme}://127.0.0.1:${await freePort()}`;
  const p = `${peerScheme}://127.0.0.1:${await freePort()}`;
  return ['--listen-client-urls', c, '--advertise-client-urls', c, '--listen-peer-urls', p, '--initial-advertise-peer-urls', p, '--initial-cluster', `default=${p}`];
}

const missing = join(dir, 'nope.pem');
const CASES: { what: string; args: () => Promise<string[]>; text: string | ((args: string[]) => string) }[] = [
  {
    what: 'an https client URL without a certificate',
    args: () => urls('https', 'http'),
    text: (a) => `TLS key/cert (--cert-file, --key-file) must be provided for client url ${a[1]} with HTTPS scheme`,
  },
  {
    what: 'a certificate without its key',
    args: async () => [...(await urls('https', 'http')), '--cert-file', server.certFile],
    text: `KeyFile and CertFile must both be present[key: , cert: ${server.certFile}]`,
  },
  {
    what: 'a key file that does not exist',
    args: async () => [...(await urls('https', 'http')), '--cert-file', server.certFile, '--key-file', missing],
    text: `open ${missing}: no such file or directory`,
  },
  {
    what: 'a key that is not the certificate\'s',
    args: async () => [...(await urls('http', 'https')), '--peer-cert-file', server.certFile, '--peer-key-file', other.keyFile],
    text: 'tls: private key does not match public key',
  },
  {
    what: 'an unknown cipher suite',
    args: async () => [...(await urls('https', 'http')), '--cert-file', server.certFile, '--key-file', server.keyFile, '--cipher-suites', 'BOGUS'],
    text: 'unexpected TLS cipher suite "BOGUS"',
  },
  {
    what: 'an https peer URL without peer certificates',
    args: () => urls('http', 'https'),
    text: (a) => `cannot listen on TLS for ${new URL(a[5]!).host}: KeyFile and CertFile are not presented`,
  },
  {
    what: '--peer-cert-allowed-cn with --peer-cert-allowed-hostname',
    args: async () => [
      ...(await urls('http', 'https')), '--peer-cert-file', server.certFile, '--peer-key-file', server.keyFile,
      '--peer-cert-allowed-cn', 'x', '--peer-cert-allowed-hostname', 'y',
    ],
    text: 'AllowedCN and AllowedHostname are mutually exclusive (cn="x", hostname="y")',
  },
  {
    what: '--tls-min-version (etcd 3.5)',
    args: async () => [...(await urls('http', 'http')), '--tls-min-version', 'TLS1.2'],
    text: 'flag provided but not defined: -tls-min-version',
  },
];

describe('refused TLS configurations', () => {
  for (const c of CASES) {
    it(`${c.what}: refused at start, as etcd 3.4.23 refuses it`, async () => {
      const args = await c.args();
      const text = typeof c.text === 'string' ? c.text : c.text(args);
      const ours = await runToExit('etcd-ts', args);
      expect(ours.code, ours.out).not.toBe(0);
      expect(ours.out).toContain(text);
      if (WITH_ETCD) {
        const theirs = await runToExit('etcd', args);
        expect(theirs.code, theirs.out).not.toBe(0);
        expect(theirs.out).toContain(text);
      }
    });
  }
});
