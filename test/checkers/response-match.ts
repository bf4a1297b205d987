// Whether a recorded response is the one the model gives, field by field
// (revisions included). Recorded errors are matched by etcd's error text
// without its "etcdserver: " prefix, since clients wrap it differently
// ("13 INTERNAL: ...", "Error: ...").

import type { KeyValue, Response, TxnOpResult } from './history.js';
import { ModelErrors } from './model.js';

function errorCore(message: string): string {
  return message.replace(/^etcdserver: /, '');
}

/** The model error a recorded error message names, if any. */
export function modelErrorIn(message: string): string | undefined {
  return Object.values(ModelErrors).find((m) => message.includes(errorCore(m)));
}

export function kvEqual(a: KeyValue, b: KeyValue): boolean {
  return a.key === b.key && a.value === b.value && a.createRevision === b.createRevision
    && a.modRevision === b.modRevision && a.version === b.version && (a.lease || '0') === (b.lease || '0');
}

export function kvsEqual(a: readonly KeyValue[], b: readonly KeyValue[]): boolean {
  return a.length === b.length && a.every((kv, i) => kvEqual(kv, b[i]));
}

function txnResultEqual(a: TxnOpResult, b: TxnOpResult): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'delete') return a.deleted === (b as typeof a).deleted;
  if (a.kind === 'range') return kvsEqual(a.kvs, (b as typeof a).kvs);
  return true;
}

export function responseMatches(expected: Response, observed: Response): boolean {
  if (expected.kind !== observed.kind) return false;
  switch (expected.kind) {
    case 'error':
      return modelErrorIn((observed as typeof expected).message) === expected.message;
    case 'range': {
      const o = observed as typeof expected;
      return expected.revision === o.revision && expected.count === o.count && kvsEqual(expected.kvs, o.kvs);
    }
    case 'put':
    case 'compact':
    case 'leaseRevoke':
      return expected.revision === (observed as typeof expected).revision;
    case 'delete': {
      const o = observed as typeof expected;
      return expected.revision === o.revision && expected.deleted === o.deleted;
    }
    case 'txn': {
      const o = observed as typeof expected;
      return expected.revision === o.revision && expected.succeeded === o.succeeded
        && expected.results.length === o.results.length
        && expected.results.every((r, i) => txnResultEqual(r, o.results[i]));
    }
    case 'leaseGrant': {
      const o = observed as typeof expected;
      return expected.revision === o.revision && expected.id === o.id && expected.ttl === o.ttl;
    }
    case 'leaseKeepAlive':
      // Any ttl <= 0 means "not found".
      return expected.ttl > 0 ? expected.ttl === (observed as typeof expected).ttl : (observed as typeof expected).ttl <= 0;
  }
}
