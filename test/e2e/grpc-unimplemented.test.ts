// Smoke test of the gRPC surface with the official etcdctl: every service is
// registered with UNIMPLEMENTED handlers, and etcdctl must get a clear
// "not implemented" error (proves paths, framing and status mapping). A
// second server answers KV.Put for real, checking that etcdctl's request
// bytes decode as expected and that our encoded response is accepted.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutRequest } from '../../src/pb/index.js';
import { apiServices, unimplementedHandlers, type ApiServices } from '../../src/server/api/services.js';
import type { ServiceImplementation, UnaryCall, UnaryCallback } from '../../src/server/grpc/types.js';
import { serveGrpc, type ServedGrpc } from './helpers/grpc-server.js';

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch { /* keep looking */ }
  }
  return false;
}

const HAVE_ETCDCTL = onPath('etcdctl');
const IN_CI = process.env.CI === 'true';

interface Run { code: number | null; stdout: string; stderr: string }

function etcdctl(port: number, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'etcdctl',
      [`--endpoints=127.0.0.1:${port}`, '--dial-timeout=3s', '--command-timeout=5s', ...args],
      { timeout: 15_000, env: { ...process.env, ETCDCTL_API: '3' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

async function startServer(override: Partial<Record<keyof ApiServices, ServiceImplementation>> = {}) {
  const services = apiServices();
  const served = await serveGrpc((Object.keys(services) as (keyof ApiServices)[]).map((name) =>
    [services[name], { ...unimplementedHandlers(services[name], name), ...override[name] }]));
  return { server: served, port: served.port };
}

function stop(server: ServedGrpc | undefined): Promise<void> {
  return server ? server.close() : Promise.resolve();
}

describe('gRPC services against the official etcdctl', () => {
  it('etcdctl is available (required in CI)', () => {
    if (IN_CI) expect(HAVE_ETCDCTL, 'etcdctl must be on PATH in CI (Debian package etcd-client)').toBe(true);
  });

  describe.skipIf(!HAVE_ETCDCTL && !IN_CI)('with etcdctl', () => {
    let unimpl: ServedGrpc | undefined;
    let unimplPort = 0;
    let kv: ServedGrpc | undefined;
    let kvPort = 0;
    const puts: PutRequest[] = [];

    beforeAll(async () => {
      ({ server: unimpl, port: unimplPort } = await startServer());
      ({ server: kv, port: kvPort } = await startServer({
        KV: {
          Put: (call: UnaryCall<PutRequest>, cb: UnaryCallback<unknown>) => {
            puts.push(call.request);
            cb(null, { header: { clusterId: 0xfedcba9876543210n, memberId: 1n, revision: 2n, raftTerm: 3n } });
          },
        },
      }));
    });

    afterAll(async () => {
      await stop(unimpl);
      await stop(kv);
    });

    it('lease grant fails with "not implemented"', async () => {
      const r = await etcdctl(unimplPort, ['lease', 'grant', '10']);
      expect(r.code).not.toBe(0);
      expect(r.stderr + r.stdout).toMatch(/not implemented/);
      expect(r.stderr + r.stdout).toMatch(/Lease\.LeaseGrant/);
    });

    it('put reaches a real handler with the expected fields', async () => {
      const r = await etcdctl(kvPort, ['put', 'foo', 'bar', '--prev-kv']);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('OK');
      expect(puts).toHaveLength(1);
      expect(puts[0]).toStrictEqual({
        key: Buffer.from('foo'), value: Buffer.from('bar'), lease: 0n,
        prevKv: true, ignoreValue: false, ignoreLease: false,
      });
    });
  });
});
