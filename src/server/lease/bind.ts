// The lessor ↔ store wiring, and the lessor's recovery from the store.

import type { Logger } from 'pino';
import { type Lessor, toLeaseId, type LeaseId } from '../../lease/index.js';
import { LEASE_PREFIX, type MvccStore } from '../../mvcc/index.js';

/**
 * Binds the lessor to a store (at start-up and after a snapshot replaced the
 * store): puts check their lease against it, applied puts and deletes move keys
 * between leases, and its state is rebuilt from the store's lease records and the
 * lease field of every live key, as etcd recovers its lessor.
 */
export async function bindLessor(lessor: Lessor, store: MvccStore, logger: Logger): Promise<void> {
  store.setLeaseChecker((lease) => lessor.has(toLeaseId(lease)));
  store.onEvents((events) => {
    for (const ev of events) {
      if (ev.type === 'PUT') lessor.keyPut(ev.kv.key, toLeaseId(ev.kv.lease));
      else lessor.keyDeleted(ev.kv.key);
    }
  });
  const records = await store.backend.scanRaw(LEASE_PREFIX);
  const attached: [Uint8Array, LeaseId][] = [];
  if (records.length > 0) {
    const all = await store.range({
      key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0,
      serializable: true, keysOnly: true, countOnly: false,
      minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
    });
    for (const kv of all.kvs) if (kv.lease !== 0n) attached.push([kv.key, toLeaseId(kv.lease)]);
  }
  const summary = lessor.restore(records, attached);
  if (summary.leases > 0 || summary.orphans.length > 0) {
    logger.info({ leases: summary.leases, attachedKeys: summary.attachedKeys }, 'restored leases');
  }
  for (const [key, id] of summary.orphans) {
    logger.warn({ key: Buffer.from(key).toString(), lease: id.toString(16) }, 'key attached to a lease that does not exist; left unattached');
  }
}
