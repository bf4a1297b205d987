// The peer transport over https:// peer URLs: two transports in one process, each
// terminating TLS with client certificates required and dialing with its own
// certificate through the PeerDialer. Raft messages flow; when the receiving side
// stops trusting the sender's CA, nothing flows until the sender's certificate
// files are replaced — then its next dial presents the new certificate without a
// restart.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EntryType, MessageType, type Message } from '../../src/raft/types.js';
import { peerDialer } from '../../src/server/tls/peer-dialer.js';
import { ReloadingTls } from '../../src/server/tls/reloading-tls.js';
import { TlsAcceptor } from '../../src/server/tls/tls-accept.js';
import { PeerTransport } from '../../src/server/transport/index.js';
import type { TransportLogger } from '../../src/server/transport/types.js';
import { makeCa, makeCert } from '../e2e/helpers/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'transport-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const open: PeerTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.stop()));
});

const ca1 = makeCa(dir, 'ca1');
const ca2 = makeCa(dir, 'ca2');
const warnings: string[] = [];
const logger: TransportLogger = { debug: () => {}, info: () => {}, error: () => {}, warn: (o, m) => void warnings.push(`${m} ${String(o.error ?? '')}`) };

interface TlsMember {
  t: PeerTransport;
  source: ReloadingTls;
  received: Message[];
  url: string;
}

async function tlsMember(id: bigint, files: { cert: string; key: string; ca: string }, port = 0): Promise<TlsMember> {
  const source = new ReloadingTls({ certFile: files.cert, keyFile: files.key, trustedCaFile: files.ca, crlFile: '' }, { logger, side: 'peer', pollMs: 60_000 });
  const received: Message[] = [];
  const t = new PeerTransport({
    localId: id,
    clusterId: 0xc1n,
    listenUrls: [new URL(`https://127.0.0.1:${port}`)],
    logger,
    onMessage: (m) => void received.push(m),
    onUnreachable: () => {},
    onSnapshotStatus: () => {},
    limits: { backoffMinMs: 20, backoffMaxMs: 100, dialTimeoutMs: 1000 },
    dialer: peerDialer({ source, skipVerify: false }),
    acceptor: new TlsAcceptor(source, { side: 'peer', requireClientCert: true, allowedCn: '', allowedHostname: '', checkClientSan: true }, logger),
  });
  open.push(t);
  await t.start();
  return { t, source, received, url: `https://${t.addresses[0]}` };
}

function msg(from: bigint, to: bigint, index: number): Message {
  return {
    type: MessageType.MsgApp, from, to, term: 2, logTerm: 2, index, commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(),
    entries: [{ term: 2, index: index + 1, type: EntryType.Normal, data: new Uint8Array([index & 0xff]) }],
  } as Message;
}

/** Sends a message every 50 ms until `to` has one with this index, or the bound passes. */
async function delivered(from: TlsMember, fromId: bigint, to: () => TlsMember, toId: bigint, index: number, boundMs: number): Promise<boolean> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    from.t.send([msg(fromId, toId, index)]);
    await new Promise((r) => setTimeout(r, 50));
    if (to().received.some((m) => m.index === index)) return true;
  }
  return false;
}

describe('peer transport over TLS', () => {
  it('carries Raft messages over https://, and a sender picks up replaced certificate files on its next dial', async () => {
    const aCert = makeCert(dir, ca1, 'a', 'a');
    const bCert = makeCert(dir, ca1, 'b', 'b');
    const aFiles = { cert: join(dir, 'a-live.pem'), key: join(dir, 'a-live-key.pem'), ca: join(dir, 'a-trust.pem') };
    const bFiles = { cert: bCert.certFile, key: bCert.keyFile, ca: join(dir, 'b-trust.pem') };
    writeFileSync(aFiles.cert, aCert.certPem);
    writeFileSync(aFiles.key, aCert.keyPem);
    writeFileSync(aFiles.ca, ca1.certPem);
    writeFileSync(bFiles.ca, ca1.certPem);

    const a = await tlsMember(1n, aFiles);
    let b = await tlsMember(2n, bFiles);
    const bPort = Number(new URL(b.url).port);
    a.t.addPeer(2n, [b.url]);
    b.t.addPeer(1n, [a.url]);
    expect(await delivered(a, 1n, () => b, 2n, 10, 5_000)).toBe(true);
    expect(await delivered(b, 2n, () => a, 1n, 11, 5_000)).toBe(true);

    // B restarts trusting CA2 only: A's CA1 certificate is refused.
    await b.t.stop();
    writeFileSync(bFiles.ca, ca2.certPem);
    b = await tlsMember(2n, bFiles, bPort);
    b.t.addPeer(1n, [a.url]);
    expect(await delivered(a, 1n, () => b, 2n, 20, 1_500)).toBe(false);
    expect(warnings.some((w) => w.startsWith('rejected connection tls: failed to verify client certificate'))).toBe(true);

    // A's files are replaced with a CA2 certificate: its next dial presents it.
    const a2 = makeCert(dir, ca2, 'a', 'a2');
    writeFileSync(aFiles.key, a2.keyPem);
    writeFileSync(aFiles.cert, a2.certPem);
    expect(a.source.checkNow()).toBe(true);
    expect(await delivered(a, 1n, () => b, 2n, 30, 10_000)).toBe(true);
  });
});
