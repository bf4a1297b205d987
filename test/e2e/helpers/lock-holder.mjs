// A client that takes a lock through the Lock service and then hangs on to it,
// keeping its lease alive, until it is killed (the "crashed client" of the lock
// e2e test). Runs the built code (dist/), plain node, no transpiler.
//   node lock-holder.mjs <endpoint> <lock name> <ttl seconds>
// Prints one JSON line {"lease","key"} once it holds the lock.
import * as grpc from '@grpc/grpc-js';
import { apiServices } from '../../../dist/src/server/api/services.js';

const [endpoint, name, ttl] = process.argv.slice(2);
const creds = grpc.credentials.createInsecure();
const Lease = grpc.makeGenericClientConstructor(apiServices().Lease, 'Lease');
const Lock = grpc.makeGenericClientConstructor(apiServices().Lock, 'Lock');
const lease = new Lease(endpoint, creds);
const lock = new Lock(endpoint, creds);
const unary = (client, method, req) =>
  new Promise((res, rej) => client[method](req, { deadline: Date.now() + 10_000 }, (err, v) => (err ? rej(err) : res(v))));

const granted = await unary(lease, 'LeaseGrant', { TTL: BigInt(ttl) });
const keepAlive = lease.LeaseKeepAlive();
keepAlive.on('data', () => {});
keepAlive.on('error', (err) => {
  process.stderr.write(`keep-alive failed: ${err.message}\n`);
  process.exit(1);
});
keepAlive.write({ ID: granted.ID });
setInterval(() => keepAlive.write({ ID: granted.ID }), Math.max(200, (Number(ttl) * 1000) / 3));
const held = await unary(lock, 'Lock', { name: Buffer.from(name), lease: granted.ID });
process.stdout.write(JSON.stringify({ lease: granted.ID.toString(), key: held.key.toString() }) + '\n');
