// The fallback proxy's parts: endpoint rotation and failure marks, the TCP
// forwarder (bytes spliced both ways, failover past a dead member, no endpoint →
// the connection is closed), the cluster file, and etcd's /members JSON.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyEndpoints } from '../../src/server/proxy/endpoints.js';
import { clusterFilePath, readClusterFile, writeClusterFile } from '../../src/server/proxy/cluster-file.js';
import { parseMembers } from '../../src/server/proxy/peer-members.js';
import { TcpForwarder } from '../../src/server/proxy/tcp-forwarder.js';
import { capturingLogger } from './discovery-fake.js';

describe('ProxyEndpoints', () => {
  it('hands out the available endpoints in turn and skips a failed one for the failure wait', () => {
    let now = 1000;
    const eps = new ProxyEndpoints(5000, () => now, () => 0.999);
    eps.set(['http://h:1', 'http://h:2', 'http://h:3', 'http://h:3', 'ftp://bad:1']);
    expect(eps.urls().sort()).toEqual(['http://h:1', 'http://h:2', 'http://h:3']);
    const firsts = [0, 1, 2, 3].map(() => eps.candidates()[0]!.url);
    expect(new Set(firsts.slice(0, 3)).size).toBe(3);
    expect(firsts[3]).toBe(firsts[0]);
    const victim = eps.candidates().find((e) => e.url === 'http://h:2')!;
    eps.markFailed(victim);
    expect(eps.candidates().map((e) => e.url)).not.toContain('http://h:2');
    // A refresh keeps the mark of an endpoint it keeps.
    eps.set(['http://h:2', 'http://h:1']);
    expect(eps.candidates().map((e) => e.url)).toEqual(['http://h:1']);
    now += 5000;
    expect(eps.candidates().map((e) => e.url).sort()).toEqual(['http://h:1', 'http://h:2']);
    eps.set([]);
    expect(eps.candidates()).toEqual([]);
  });
});

describe('TcpForwarder', () => {
  const servers: net.Server[] = [];
  let forwarder: TcpForwarder | undefined;
  afterEach(async () => {
    await forwarder?.close();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  async function upstream(tag: string): Promise<number> {
    const s = net.createServer((c) => c.on('data', (d) => c.write(`${tag}:${d.toString()}`)));
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as net.AddressInfo).port;
  }

  async function deadPort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    return port;
  }

  function roundTrip(port: number, text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.1', port });
      let got = '';
      c.on('data', (d) => {
        got += d.toString();
        c.end();
      });
      c.on('close', () => resolve(got));
      c.on('error', reject);
      c.write(text);
      setTimeout(() => c.destroy(), 3000).unref();
    });
  }

  it('splices a connection to a member and passes over one that refuses', async () => {
    const dead = await deadPort();
    const live = await upstream('A');
    const eps = new ProxyEndpoints(60_000);
    eps.set([`http://127.0.0.1:${dead}`, `http://127.0.0.1:${live}`]);
    const { logger, lines } = capturingLogger();
    forwarder = new TcpForwarder(eps, 1000, logger);
    const listenPort = await deadPort();
    expect(await forwarder.listen([new URL(`http://127.0.0.1:${listenPort}`)])).toEqual([`http://127.0.0.1:${listenPort}`]);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await roundTrip(listenPort, `hello${i}`));
    expect(answers).toEqual(['A:hello0', 'A:hello1', 'A:hello2', 'A:hello3']);
    // The dead one failed once and is then skipped for the failure wait.
    expect(lines.filter((l) => l.msg === 'proxy: failed to direct connection to endpoint; marked unavailable')).toHaveLength(1);
  });

  it('keeps answering a client that shut down its sending side (half-close)', async () => {
    const s = net.createServer({ allowHalfOpen: true }, (c) => {
      let got = '';
      c.on('data', (d) => (got += d.toString()));
      c.on('end', () => setTimeout(() => c.end(`late answer to ${got}`), 50));
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const eps = new ProxyEndpoints(60_000);
    eps.set([`http://127.0.0.1:${(s.address() as net.AddressInfo).port}`]);
    forwarder = new TcpForwarder(eps, 1000, capturingLogger().logger);
    const listenPort = await deadPort();
    await forwarder.listen([new URL(`http://127.0.0.1:${listenPort}`)]);
    const answer = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.1', port: listenPort, allowHalfOpen: true });
      let got = '';
      c.on('data', (d) => (got += d.toString()));
      c.on('end', () => resolve(got));
      c.on('error', reject);
      c.end('question');
      setTimeout(() => c.destroy(), 3000).unref();
    });
    expect(answer).toBe('late answer to question');
  });

  it('closes the connection when no member is available', async () => {
    const eps = new ProxyEndpoints(60_000);
    const { logger, lines } = capturingLogger();
    forwarder = new TcpForwarder(eps, 1000, logger);
    const listenPort = await deadPort();
    await forwarder.listen([new URL(`http://127.0.0.1:${listenPort}`)]);
    expect(await roundTrip(listenPort, 'x')).toBe('');
    expect(lines.map((l) => l.msg)).toContain('proxy: zero endpoints currently available');
  });
});

describe('proxy cluster file and /members', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("writes and reads etcd's {\"PeerURLs\":[...]} under <data-dir>/proxy/cluster", async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-ts-proxy-'));
    expect(await readClusterFile(dir)).toBeUndefined();
    await writeClusterFile(dir, ['http://h:1', 'http://h:2']);
    expect(await readFile(clusterFilePath(dir), 'utf8')).toBe('{"PeerURLs":["http://h:1","http://h:2"]}');
    expect(await readClusterFile(dir)).toEqual(['http://h:1', 'http://h:2']);
  });

  it("reads etcd's member list JSON (ids as numbers beyond 2^53 are not needed)", () => {
    const body = '[{"id":12345678901234567890,"name":"a","peerURLs":["http://h:2"],"clientURLs":["http://h:1"]},{"id":2,"name":"","peerURLs":["http://g:2"],"clientURLs":[]}]';
    expect(parseMembers(body)).toEqual({ peerUrls: ['http://g:2', 'http://h:2'], clientUrls: ['http://h:1'] });
    expect(() => parseMembers('{}')).toThrow();
  });
});
