import { describe, expect, it } from 'vitest';
import { ArgError, parseArgs } from '../../bench/load/args.js';
import { clientTls } from '../../bench/load/tls.js';

describe('bench args', () => {
  it('accepts the lease (grant / revoke) workload', () => {
    const o = parseArgs(['lease', '--clients', '16', '--total', '500', '--ttl', '30']);
    expect(o.workload).toBe('lease');
    expect(o.clients).toBe(16);
    expect(o.total).toBe(500);
    expect(o.ttl).toBe(30);
  });
  it('rejects an unknown workload, naming the known ones', () => {
    expect(() => parseArgs(['leases'])).toThrow(ArgError);
    expect(() => parseArgs(['leases'])).toThrow(/lease-keepalive or lease/);
  });
  it('put with sequential keys over a key space of N (the keys-1m workload)', () => {
    const o = parseArgs(['put', '--sequential-keys', '--key-space', '1000000', '--key-size', '32', '--total', '1000000']);
    expect(o.sequentialKeys).toBe(true);
    expect(o.keySpace).toBe(1_000_000);
  });
  it('--cacert --cert --key turn on TLS (https:// endpoints accepted), and go together', () => {
    const o = parseArgs(['put', '--endpoints', 'https://127.0.0.1:2379', '--cacert', 'ca.pem', '--cert', 'c.pem', '--key', 'k.pem']);
    expect([o.endpoints, o.cacert, o.cert, o.key]).toEqual([['127.0.0.1:2379'], 'ca.pem', 'c.pem', 'k.pem']);
    expect(clientTls(parseArgs(['put']))).toBeUndefined();
    expect(() => clientTls({ cacert: '', cert: 'c.pem', key: '' })).toThrow('--cert and --key go together');
  });
});
