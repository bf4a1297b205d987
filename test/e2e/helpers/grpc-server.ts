// Serves one of our GrpcServers (src/server/grpc) on a free loopback port, for
// tests that drive service handlers without a whole member.

import * as net from 'node:net';
import { GrpcServer, type GrpcServerOptions } from '../../../src/server/grpc/server.js';
import type { ServiceDefinition, ServiceImplementation } from '../../../src/server/grpc/types.js';

export interface ServedGrpc {
  server: GrpcServer;
  port: number;
  /** Closes the connections at once (no grace) and the listener. */
  close(): Promise<void>;
}

export async function serveGrpc(
  services: [ServiceDefinition, ServiceImplementation][],
  opts: Partial<GrpcServerOptions> = {},
): Promise<ServedGrpc> {
  const server = new GrpcServer({ maxReceiveBytes: 4 << 20, ...opts });
  for (const [def, impl] of services) server.addService(def, impl);
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    server.accept(s);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (listener.address() as net.AddressInfo).port,
    close: async () => {
      await server.close(0);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}
