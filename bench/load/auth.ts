// --user: each connection authenticates on its own endpoint (Auth.Authenticate,
// as clientv3 does per connection) and sends the token with every request.

import * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../src/server/api/services.js';
import type { KvTransport } from './pool.js';

type AuthenticateFn = (req: unknown, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { token: string }) => void) => void;

async function authenticate(endpoint: string, name: string, password: string): Promise<string> {
  const Ctor = grpc.makeGenericClientConstructor(apiServices().Auth, 'Auth');
  const client = new Ctor(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Authenticate: AuthenticateFn };
  try {
    return await new Promise<string>((resolve, reject) =>
      client.Authenticate({ name, password }, { deadline: new Date(Date.now() + 10_000) }, (err, res) =>
        err ? reject(new Error(`authenticate on ${endpoint}: ${err.details ?? err.message}`)) : resolve(res!.token),
      ),
    );
  } finally {
    client.close();
  }
}

/** "name:password" → a token per connection of `pool`, one Authenticate per distinct endpoint. */
export async function authenticatePool(pool: KvTransport, user: string): Promise<void> {
  const colon = user.indexOf(':');
  if (colon <= 0) throw new Error(`--user must be NAME:PASSWORD, got ${JSON.stringify(user)}`);
  const name = user.slice(0, colon);
  const password = user.slice(colon + 1);
  const byEndpoint = new Map<string, Promise<string>>();
  await Promise.all(
    pool.endpoints.map(async (ep, conn) => {
      if (!byEndpoint.has(ep)) byEndpoint.set(ep, authenticate(ep, name, password));
      pool.setToken(conn, await byEndpoint.get(ep)!);
    }),
  );
}
