// The TLS acceptor in front of the client listener's first-bytes routing: gRPC
// (grpc-js, injected) and HTTP both served over one TLS port; the verified client
// certificate's CN reaches both kinds of handler as the caller identity; the CRL,
// --peer-cert-allowed-cn, the allowed hostname and the peer port's SAN check
// refuse what etcd refuses.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type ClientListener, listenClients } from '../../src/server/client-listener.js';
import { frameMessage } from '../../src/server/grpc/framing.js';
import { GrpcServer } from '../../src/server/grpc/server.js';
import type { MethodDefinition, UnaryCall, UnaryCallback } from '../../src/server/grpc/types.js';
import { identityOfCall, identityOfSocket } from '../../src/server/tls/caller-identity.js';
import { ReloadingTls } from '../../src/server/tls/reloading-tls.js';
import { TlsAcceptor, type AcceptPolicy } from '../../src/server/tls/tls-accept.js';
import { makeCa, makeCert, makeCrl } from '../e2e/helpers/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'tls-accept-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ca = makeCa(dir, 'ca');
const server = makeCert(dir, ca, 'server', 'server');
const alice = makeCert(dir, ca, 'alice', 'alice', { usages: ['client'] });
const bob = makeCert(dir, ca, 'bob', 'bob', { usages: ['client'] });
const remote = makeCert(dir, ca, 'far-away', 'far', { hosts: ['10.1.2.3'], usages: ['client'] });
const crl = makeCrl(dir, ca, [bob]);

const warnings: string[] = [];
const logger = { info: () => {}, warn: (o: Record<string, unknown>, m: string) => void warnings.push(`${m}: ${String(o.error)}`), debug: () => {} };

function acceptor(policy: Partial<AcceptPolicy> = {}): TlsAcceptor {
  const source = new ReloadingTls({ certFile: server.certFile, keyFile: server.keyFile, trustedCaFile: ca.certFile, crlFile: crl }, { logger, side: 'client', pollMs: 60_000 });
  return new TlsAcceptor(source, { side: 'client', requireClientCert: true, allowedCn: '', allowedHostname: '', checkClientSan: false, ...policy }, logger);
}

let listeners: ClientListener[] = [];
let grpcServer: GrpcServer | undefined;
const servers: tls.Server[] = [];
afterEach(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  listeners = [];
  await grpcServer?.close(0);
  grpcServer = undefined;
  for (const s of servers.splice(0)) s.close();
});

const json = { ser: (v: unknown) => Buffer.from(JSON.stringify(v)), de: (b: Buffer) => JSON.parse(b.toString()) as unknown };
const WHO_AM_I: grpc.ServiceDefinition = {
  WhoAmI: { path: '/test.Id/WhoAmI', requestStream: false, responseStream: false, requestSerialize: json.ser, requestDeserialize: json.de, responseSerialize: json.ser, responseDeserialize: json.de },
};

// The same method for our server: JSON bodies behind the 5-byte gRPC prefix.
const WHO_AM_I_METHOD: MethodDefinition = {
  path: '/test.Id/WhoAmI',
  requestStream: false,
  responseStream: false,
  decodeRequest: json.de,
  encodeResponse: (v) => frameMessage(json.ser(v)),
};

describe('TLS in front of the client listener', () => {
  it('serves gRPC and HTTP on one TLS port, and hands both the client certificate CN', async () => {
    grpcServer = new GrpcServer({ maxReceiveBytes: 1 << 20 });
    grpcServer.addService({ WhoAmI: WHO_AM_I_METHOD }, {
      WhoAmI: (call: UnaryCall<unknown>, cb: UnaryCallback<unknown>) => cb(null, { cn: identityOfCall(call)?.commonName ?? null }),
    });
    listeners = await listenClients(
      [new URL('https://127.0.0.1:0')],
      grpcServer,
      (req, res) => res.end(JSON.stringify({ cn: identityOfSocket(req.socket)?.commonName ?? null })),
      { acceptor: acceptor() },
    );
    const port = Number(listeners[0]!.address.split(':').pop());

    const Client = grpc.makeGenericClientConstructor(WHO_AM_I, 'Id');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(alice.keyPem), Buffer.from(alice.certPem)));
    try {
      const res = await new Promise<unknown>((resolve, reject) =>
        (client as unknown as Record<string, (r: unknown, cb: (e: Error | null, v: unknown) => void) => void>).WhoAmI!({}, (e, v) => (e ? reject(e) : resolve(v))),
      );
      expect(res).toEqual({ cn: 'alice' });
    } finally {
      client.close();
    }

    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/whoami', ca: ca.certPem, cert: alice.certPem, key: alice.keyPem, agent: false }, (res) => {
          let out = '';
          res.on('data', (d: Buffer) => (out += d.toString()));
          res.on('end', () => resolve(out));
        })
        .on('error', reject);
    });
    expect(JSON.parse(body)).toEqual({ cn: 'alice' });
  });
});

/** Connects with `cert` to a server made by `acc` and says what happened: the server's greeting, or how it ended. */
async function tryConnect(acc: TlsAcceptor, cert: { certPem: string; keyPem: string } | undefined): Promise<string> {
  const srv = acc.createServer((s) => s.end('welcome'));
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('error', (e) => resolve(`error: ${e.message}`));
    s.on('close', () => resolve(got || 'closed'));
    s.setTimeout(5_000, () => s.destroy());
  });
}

describe('TlsAcceptor checks', () => {
  it('no certificate, a revoked one: refused; a good one: served', async () => {
    warnings.length = 0;
    expect(await tryConnect(acceptor(), alice)).toBe('welcome');
    expect(await tryConnect(acceptor(), undefined)).not.toBe('welcome');
    expect(await tryConnect(acceptor(), bob)).not.toBe('welcome');
    expect(warnings.some((w) => w.includes('peer did not return a certificate'))).toBe(true);
    expect(warnings).toContain(`rejected connection: transport: certificate serial ${bob.serial.toString('hex').replace(/^0+/, '')} revoked`);
  });

  it('--peer-cert-allowed-cn and the allowed hostname', async () => {
    warnings.length = 0;
    expect(await tryConnect(acceptor({ allowedCn: 'alice' }), alice)).toBe('welcome');
    expect(await tryConnect(acceptor({ allowedCn: 'someone-else' }), alice)).not.toBe('welcome');
    expect(warnings).toContain('rejected connection: client certificate authentication failed');
    expect(await tryConnect(acceptor({ allowedHostname: 'localhost' }), alice)).toBe('welcome');
    expect(await tryConnect(acceptor({ allowedHostname: '127.0.0.1' }), alice)).toBe('welcome');
    expect(await tryConnect(acceptor({ allowedHostname: 'example.com' }), alice)).not.toBe('welcome');
  });

  it("the peer port's SAN check: the client certificate must name the address it comes from", async () => {
    warnings.length = 0;
    expect(await tryConnect(acceptor({ side: 'peer', checkClientSan: true }), alice)).toBe('welcome'); // 127.0.0.1 SAN
    expect(await tryConnect(acceptor({ side: 'peer', checkClientSan: true }), remote)).not.toBe('welcome');
    expect(warnings).toContain('rejected connection: x509: certificate is valid for 10.1.2.3, not 127.0.0.1');
    // --experimental-peer-skip-client-san-verification
    expect(await tryConnect(acceptor({ side: 'peer', checkClientSan: false }), remote)).toBe('welcome');
  });
});
