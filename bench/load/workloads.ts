// The three workloads. Each is a KV method plus a `next()` that returns the
// next request object. Request objects are built once per key (up to
// PREBUILD_LIMIT keys) and reused; values share one buffer.
//
//   put    Put(key, value)
//   range  Range(key) (or the whole key space with --range-all), l or s
//   txn    etcd's txn-put with one compare:
//          Txn(If mod_revision(key) > 0, Then Put(key, value), Else Put(key, value))
//          so every txn evaluates a compare and writes, whether the key exists or not.

import { randomBytes } from 'node:crypto';
import type { BenchOptions } from './args.js';
import { KeyChooser, PREBUILD_LIMIT, keySpaceRange, makeKey } from './keys.js';
import type { UnaryMethod } from './pool.js';

export interface Workload {
  method: UnaryMethod;
  next(): unknown;
}

const COMPARE_GREATER = 1;
const TARGET_MOD = 2;

/** Memoizes build(i) for i < PREBUILD_LIMIT; builds on the fly above. */
function requestSource(opts: BenchOptions, build: (key: Buffer) => unknown): () => unknown {
  const chooser = new KeyChooser(opts.keySpace, opts.sequentialKeys);
  const cached = opts.keySpace <= PREBUILD_LIMIT;
  const cache: unknown[] = [];
  if (cached) for (let i = 0; i < opts.keySpace; i++) cache.push(build(makeKey(opts.prefix, i, opts.keySize)));
  return cached
    ? () => cache[chooser.pick()]
    : () => build(makeKey(opts.prefix, chooser.pick(), opts.keySize));
}

export function putWorkload(opts: BenchOptions): Workload {
  const value = randomBytes(opts.valSize);
  return { method: 'Put', next: requestSource(opts, (key) => ({ key, value })) };
}

export function rangeWorkload(opts: BenchOptions): Workload {
  const serializable = opts.consistency === 's';
  if (opts.rangeAll) {
    const req = { ...keySpaceRange(opts.prefix), serializable, countOnly: opts.countOnly };
    return { method: 'Range', next: () => req };
  }
  return {
    method: 'Range',
    next: requestSource(opts, (key) => ({ key, serializable, countOnly: opts.countOnly })),
  };
}

export function txnWorkload(opts: BenchOptions): Workload {
  const value = randomBytes(opts.valSize);
  return {
    method: 'Txn',
    next: requestSource(opts, (key) => {
      const put = { requestPut: { key, value } };
      return {
        compare: [{ result: COMPARE_GREATER, target: TARGET_MOD, key, modRevision: 0 }],
        success: [put],
        failure: [put],
      };
    }),
  };
}

export function makeWorkload(opts: BenchOptions): Workload {
  switch (opts.workload) {
    case 'put':
      return putWorkload(opts);
    case 'range':
      return rangeWorkload(opts);
    case 'txn':
      return txnWorkload(opts);
    case 'watch':
      throw new Error('the watch workload runs through runWatchBench (load/watch.ts)');
    case 'lease-keepalive':
    case 'lease':
      throw new Error(`the ${opts.workload} workload runs through load/lease.ts`);
  }
}
