// An in-process member for the recipe tests: a real MvccStore and WatchHub, with
// the RaftKV port answered straight from the store (no Raft: one member, writes
// applied in call order), a lease table, and a record of the auth checks made.

import { afterEach } from 'vitest';
import type { AuthInfo } from '../../src/auth/index.js';
import { MvccStore, WatchHub } from '../../src/mvcc/index.js';
import type * as pb from '../../src/pb/types.js';
import type { RaftKV } from '../../src/server/api/ports.js';
import { hubEvents } from '../../src/server/api/recipes/hub-events.js';
import type { EventFeed, KeyEvents, RecipeContext } from '../../src/server/api/recipes/ports.js';
import { deleteFromPb, deleteToPb, putFromPb, putToPb, rangeFromPb, rangeToPb, txnFromPb, txnToPb } from '../../src/server/kv-convert.js';
import { TmpStores } from './mvcc-helpers.js';

export const header = (revision: number): pb.ResponseHeader => ({ clusterId: 1n, memberId: 2n, revision: BigInt(revision), raftTerm: 3n });

export class TestMember {
  readonly leases = new Set<bigint>();
  readonly granted: bigint[] = [];
  /** Every watch check made: [user, key]. */
  readonly checks: [string | undefined, string][] = [];
  /** Keys (latin1) a watch may not read. */
  readonly unreadable = new Set<string>();
  openFeeds = 0;
  private ci = 0;
  private nextLease = 0x1000n;

  private constructor(readonly store: MvccStore, readonly hub: WatchHub) {
    store.setLeaseChecker((id) => this.leases.has(id));
  }

  static async open(stores: TmpStores): Promise<TestMember> {
    const store = await stores.open();
    return new TestMember(store, new WatchHub(store, { victimRetryMs: 2, syncIntervalMs: 5 }));
  }

  readonly kv: RaftKV = {
    range: async (req) => rangeToPb(await this.store.range(rangeFromPb(req)), header(this.store.currentRevision())),
    put: async (req) => putToPb(await this.store.put(putFromPb(req), ++this.ci), header(this.store.currentRevision())),
    deleteRange: async (req) => deleteToPb(await this.store.deleteRange(deleteFromPb(req), ++this.ci), header(this.store.currentRevision())),
    txn: async (req) => txnToPb(await this.store.txn(txnFromPb(req), ++this.ci), header(this.store.currentRevision())),
    compact: async (req) => {
      const { done } = await this.store.compact(Number(req.revision), ++this.ci);
      if (req.physical) await done;
      return { header: header(this.store.currentRevision()) };
    },
  };

  /** hubEvents, counting the feeds open (a wait that ends must close its feed). */
  readonly events: KeyEvents = {
    open: (key, rangeEnd, startRev): EventFeed => {
      const feed = hubEvents(this.hub).open(key, rangeEnd, startRev);
      this.openFeeds++;
      let closed = false;
      return {
        next: (signal) => feed.next(signal),
        close: () => {
          if (!closed) this.openFeeds--;
          closed = true;
          feed.close();
        },
      };
    },
  };

  grantLease(): bigint {
    const id = this.nextLease++;
    this.leases.add(id);
    return id;
  }

  ctx(signal: AbortSignal = new AbortController().signal, who?: AuthInfo): RecipeContext {
    return {
      kv: this.kv,
      events: this.events,
      who,
      signal,
      leases: {
        grant: async (ttl) => {
          this.granted.push(ttl);
          return { id: this.grantLease(), ttl: Number(ttl), revision: 0 };
        },
      },
      gate: {
        checkRange: (w, key) => {
          const k = Buffer.from(key).toString('latin1');
          this.checks.push([w?.username, k]);
          if (this.unreadable.has(k)) throw new Error('etcdserver: permission denied');
        },
      },
    };
  }

  async put(key: string, value = '', lease = 0n): Promise<void> {
    await this.kv.put({ key: Buffer.from(key), value: Buffer.from(value), lease, prevKv: false, ignoreValue: false, ignoreLease: false });
  }

  async del(key: string): Promise<void> {
    await this.kv.deleteRange({ key: Buffer.from(key), rangeEnd: Buffer.alloc(0), prevKv: false });
  }

  /** Keys under a prefix, oldest first. */
  async keys(prefix: string): Promise<string[]> {
    const end = Buffer.from(prefix);
    end[end.length - 1]!++;
    const r = await this.store.range({
      key: Buffer.from(prefix), rangeEnd: end, limit: 0, revision: 0, sortOrder: 1, sortTarget: 2, serializable: false,
      keysOnly: true, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0,
    });
    return r.kvs.map((kv) => Buffer.from(kv.key).toString());
  }

  close(): void {
    this.hub.close();
  }
}

/** Settles `p` into a state the test can inspect without awaiting it. */
export function track<T>(p: Promise<T>): { settled: () => boolean; value: () => T | undefined; error: () => unknown } {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then((v) => ((done = true), (value = v)), (e) => ((done = true), (error = e)));
  return { settled: () => done, value: () => value, error: () => error };
}

export async function until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Lets timers, immediates and the hub's sync rounds run for a while. */
export const settle = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A fresh TestMember per call, all closed (and their stores removed) after each test. */
export function testMembers(): () => Promise<TestMember> {
  const stores = new TmpStores();
  const members: TestMember[] = [];
  afterEach(async () => {
    for (const m of members.splice(0)) m.close();
    await stores.cleanup();
  });
  return async () => {
    const m = await TestMember.open(stores);
    members.push(m);
    return m;
  };
}
