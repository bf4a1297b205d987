// The v2 writes (etcd's v2 store Set, Create, Update, CompareAndSwap, Delete,
// CompareAndDelete) as v3 transactions through Raft. Each attempt reads the keys
// it decides on at one revision (snapshot.ts), decides as the v2 store would, and
// commits only if none of them, nor the action key every v2 write puts, changed
// meanwhile; on a conflict it reads again. So v2 writes are serialised as the v2
// store's were: of two `prevExist=false` creates one gets 105, and in-order
// (POST) keys are named by the index they are created at, in commit order.

import type * as pb from '../../../pb/types.js';
import { CompareResult, CompareTarget } from '../../../pb/types.js';
import type { LeaseApi, RaftKV } from '../ports.js';
import {
  EcodeDirNotEmpty, EcodeKeyNotFound, EcodeNodeExist, EcodeNotDir, EcodeNotFile, EcodeRaftInternal, EcodeRootROnly,
  EcodeTestFailed, V2Error,
} from './errors.js';
import { encodeAction } from './action-record.js';
import type { V2Layout } from './layout.js';
import type { V2Action, V2Event, V2Node } from './node.js';
import { freshExpiry, kvToNode, LeaseExpiries, utf8 } from './nodes.js';
import { MAX_PATH_DEPTH } from './read.js';
import { prefixEnd, rangeRequest, readSnapshot, type Snapshot } from './snapshot.js';
import { checkParents, parentLeaseOf, resolve, walkKeys } from './walk.js';

export type WriteKind =
  | { op: 'set'; dir: boolean; value: string }
  | { op: 'create'; dir: boolean; value: string; unique: boolean }
  | { op: 'update'; value: string }
  | { op: 'compareAndSwap'; value: string; prevValue?: string; prevIndex: number }
  | { op: 'delete'; dir: boolean; recursive: boolean }
  | { op: 'compareAndDelete'; prevValue?: string; prevIndex: number };

export interface WriteRequest {
  key: string;
  kind: WriteKind;
  /** Seconds; absent: the node is permanent (as a v2 write without ttl makes it). */
  ttl?: number;
  /** Keep the value, reset the TTL (set, update, compareAndSwap). */
  refresh: boolean;
}

export interface WritePorts {
  kv: RaftKV;
  lease: Pick<LeaseApi, 'grant' | 'revoke' | 'timeToLive'>;
}

/** What one attempt decided: the ops to commit and how to answer once committed. */
interface Plan {
  action: V2Action;
  ops: pb.RequestOp[];
  /** Extra compares beyond "nothing read changed" (an in-order key's name is free). */
  compares?: pb.Compare[];
  answer(revision: number): Promise<V2Event>;
  /** A file's own lease this write took it off (revoked once committed, so leases do not pile up). */
  released?: bigint;
}

const MAX_ATTEMPTS = 200;

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const put = (key: string, value: string, lease: bigint): pb.RequestOp => ({
  requestPut: { key: b(key), value: b(value), lease, prevKv: false, ignoreValue: false, ignoreLease: false },
});
const del = (key: string, rangeEnd?: Buffer): pb.RequestOp => ({
  requestDeleteRange: { key: b(key), rangeEnd: rangeEnd ?? Buffer.alloc(0), prevKv: false },
});

function compareFailCause(kv: pb.KeyValue, prevValue: string | undefined, prevIndex: number): string | undefined {
  const value = utf8(kv.value);
  const mod = Number(kv.modRevision);
  const indexOk = prevIndex === 0 || mod === prevIndex;
  const valueOk = prevValue === undefined || value === prevValue;
  if (indexOk && valueOk) return undefined;
  if (!indexOk && valueOk) return `[${prevIndex} != ${mod}]`;
  if (indexOk && !valueOk) return `[${prevValue} != ${value}]`;
  return `[${prevValue} != ${value}] [${prevIndex} != ${mod}]`;
}

function isConflictError(err: unknown): boolean {
  const msg = (err as Error).message ?? '';
  // An inherited lease expired between the read and the commit: read again.
  return msg.includes('requested lease not found');
}

export class V2Writer {
  constructor(
    private readonly ports: WritePorts,
    private readonly layout: V2Layout,
    private readonly now: () => number = Date.now,
  ) {}

  /** The v2 writes of this member, one at a time (see write). */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Every v2 write conflicts with every other (they all put the action key), so
   * running this member's concurrently would only make them retry: they queue,
   * and only writes through other members can conflict.
   */
  write(req: WriteRequest): Promise<V2Event> {
    const run = this.queue.then(() => this.attempts(req));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async attempts(req: WriteRequest): Promise<V2Event> {
    const granted = req.ttl !== undefined ? await this.ports.lease.grant(BigInt(req.ttl), 0n) : undefined;
    const expiresAtMs = req.ttl !== undefined ? this.now() + req.ttl * 1000 : undefined;
    const lease = granted?.id ?? 0n;
    let done = false;
    try {
      // This member's state first: a write that commits had compares saying nothing
      // it read changed, so it decided on current state anyway. A refusal decided
      // on local state could be stale, so it is confirmed on a linearizable read.
      let linearizable = false;
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const snap = await readSnapshot(this.ports.kv, this.layout.actionKey, { ...this.reads(req), linearizable });
        let plan: Plan;
        try {
          plan = await this.plan(req, snap, lease);
        } catch (err) {
          if (err instanceof V2Error && !linearizable) {
            linearizable = true;
            continue;
          }
          throw err;
        }
        let res: pb.TxnResponse;
        try {
          res = await this.ports.kv.txn({
            compare: [...snap.unchanged(this.layout.actionKey), ...(plan.compares ?? [])],
            success: [...plan.ops, put(this.layout.actionKey, encodeAction({
              action: plan.action, refresh: req.refresh, ...(req.ttl !== undefined ? { ttl: req.ttl, expiresAtMs } : {}),
            }), 0n)],
            failure: [],
          });
        } catch (err) {
          if (isConflictError(err)) continue;
          throw err;
        }
        // Lost to another write: its entry is applied here by now (answers come
        // after the local apply), so a local read sees what beat us.
        if (!res.succeeded) continue;
        done = true;
        if (plan.released !== undefined && plan.released !== 0n && plan.released !== lease) {
          this.ports.lease.revoke(plan.released).catch(() => undefined); // no key holds it any more
        }
        return await plan.answer(Number(res.header!.revision));
      }
      throw new V2Error(EcodeRaftInternal, 'too many conflicting writes', 0);
    } finally {
      if (lease !== 0n && !done) this.ports.lease.revoke(lease).catch(() => undefined);
    }
  }

  /** The keys an attempt decides on. */
  private reads(req: WriteRequest): { keys: string[]; prefixes: string[] } {
    const keys = walkKeys(this.layout, req.key);
    const prefixes = req.kind.op === 'delete' && !req.kind.recursive ? [this.layout.childPrefix(req.key)] : [];
    return { keys, prefixes };
  }

  private async plan(req: WriteRequest, snap: Snapshot, lease: bigint): Promise<Plan> {
    const p = req.key;
    const k = req.kind;
    // The root is read only, but in-order keys may be created in it (as etcd allows).
    const inOrder = k.op === 'create' && k.unique;
    if (p === '/' && k.op !== 'compareAndDelete' && !inOrder) throw new V2Error(EcodeRootROnly, '/', snap.revision);
    switch (k.op) {
      case 'set':
        return this.planSet(req, k, snap, lease);
      case 'create':
        return this.planCreate(req, k, snap, lease);
      case 'update':
      case 'compareAndSwap':
        return this.planUpdate(req, k, snap, lease);
      case 'delete':
      case 'compareAndDelete':
        return this.planDelete(req, k, snap);
    }
  }

  /**
   * The lease a file held on its own (a TTL it was given), not its directory's,
   * which its siblings share. Directories keep theirs: children may hold it.
   */
  private ownFileLease(snap: Snapshot, p: string, kv: pb.KeyValue | undefined, isDir: boolean): bigint | undefined {
    if (!kv || isDir || kv.lease === 0n || kv.lease === parentLeaseOf(snap, this.layout, p)) return undefined;
    return kv.lease;
  }

  /** The node as it was before this write. */
  private prevNode(snap: Snapshot, p: string, kv: pb.KeyValue): Promise<V2Node> {
    return kvToNode(this.layout, kv, new LeaseExpiries(this.ports.lease, this.now), { parentLease: parentLeaseOf(snap, this.layout, p) });
  }

  private written(p: string, dir: boolean, value: string, ttl: number | undefined, rev: number, created: number): V2Node {
    return {
      key: p,
      ...(dir ? { dir: true } : { value }),
      ...(ttl !== undefined ? freshExpiry(ttl, this.now()) : {}),
      modifiedIndex: rev,
      createdIndex: created,
    };
  }

  private planSet(req: WriteRequest, k: Extract<WriteKind, { op: 'set' }>, snap: Snapshot, lease: bigint): Plan {
    const p = req.key;
    const parents = checkParents(snap, this.layout, p);
    if (!parents.ok) throw new V2Error(EcodeNotDir, parents.notDir, snap.revision);
    const existing = resolve(snap, this.layout, p);
    if (req.refresh && existing.kind !== 'file' && existing.kind !== 'dir') {
      throw existing.kind === 'missing' ? new V2Error(EcodeKeyNotFound, existing.at, snap.revision) : new V2Error(EcodeNotDir, existing.at, snap.revision);
    }
    if (existing.kind === 'dir') throw new V2Error(EcodeNotFile, p, snap.revision);
    const prev = existing.kind === 'file' ? existing.kv : undefined;
    const value = req.refresh && prev ? utf8(prev.value) : k.value;
    const nodeLease = lease !== 0n ? lease : parents.lease;
    const ops = parents.missing.map((d) => put(this.layout.dirKey(d), '', parents.lease));
    // A set replaces the node: etcd's v2 store creates a new one, whose
    // createdIndex is this write's index. Deleting the old file in the same Txn
    // before the put gives the v3 key a new create revision (and version 1).
    // Only this internal Txn may name one key twice: the v3 API refuses it.
    if (prev) ops.push(del(this.layout.fileKey(p)));
    ops.push(put(k.dir ? this.layout.dirKey(p) : this.layout.fileKey(p), k.dir ? '' : value, nodeLease));
    return {
      action: 'set',
      ops,
      ...(prev ? { released: this.ownFileLease(snap, p, prev, false) } : {}),
      answer: async (rev) => ({
        action: 'set',
        node: this.written(p, k.dir, value, req.ttl, rev, rev),
        ...(prev ? { prevNode: await this.prevNode(snap, p, prev) } : {}),
        etcdIndex: rev,
      }),
    };
  }

  private planCreate(req: WriteRequest, k: Extract<WriteKind, { op: 'create' }>, snap: Snapshot, lease: bigint): Plan {
    // An in-order key is named by the index it is created at: the next revision.
    // Every v2 write moves the action key, so if another commits first this
    // attempt's compares fail and the next attempt takes the next name.
    const p = k.unique ? `${req.key === '/' ? '' : req.key}/${String(snap.revision + 1).padStart(20, '0')}` : req.key;
    const parents = checkParents(snap, this.layout, p);
    if (!parents.ok) throw new V2Error(EcodeNotDir, parents.notDir, snap.revision);
    // checkParents has refused a file in the way; an in-order name must still be
    // free when the Txn commits (it was not read: it did not exist yet).
    const compares: pb.Compare[] = k.unique
      ? [this.layout.fileKey(p), this.layout.dirKey(p)].map((key) => ({
          result: CompareResult.EQUAL, target: CompareTarget.VERSION, key: b(key), rangeEnd: Buffer.alloc(0), version: 0n,
        }))
      : [];
    const existing = k.unique ? undefined : resolve(snap, this.layout, p).kind;
    if (existing === 'file' || existing === 'dir') throw new V2Error(EcodeNodeExist, p, snap.revision);
    const nodeLease = lease !== 0n ? lease : parents.lease;
    const ops = parents.missing.map((d) => put(this.layout.dirKey(d), '', parents.lease));
    ops.push(put(k.dir ? this.layout.dirKey(p) : this.layout.fileKey(p), k.dir ? '' : k.value, nodeLease));
    return {
      action: 'create',
      ops,
      compares,
      answer: async (rev) => ({ action: 'create', node: this.written(p, k.dir, k.value, req.ttl, rev, rev), etcdIndex: rev }),
    };
  }

  private async planUpdate(
    req: WriteRequest, k: Extract<WriteKind, { op: 'update' | 'compareAndSwap' }>, snap: Snapshot, lease: bigint,
  ): Promise<Plan> {
    const p = req.key;
    const r = resolve(snap, this.layout, p);
    if (r.kind === 'missing') throw new V2Error(EcodeKeyNotFound, r.at, snap.revision);
    if (r.kind === 'notDir') throw new V2Error(EcodeNotDir, r.at, snap.revision);
    const cur = r.kv!;
    const isDir = r.kind === 'dir';
    if (k.op === 'compareAndSwap') {
      if (isDir) throw new V2Error(EcodeNotFile, p, snap.revision);
      const cause = compareFailCause(cur, k.prevValue, k.prevIndex);
      if (cause !== undefined) throw new V2Error(EcodeTestFailed, cause, snap.revision);
    } else if (isDir && k.value !== '') {
      throw new V2Error(EcodeNotFile, p, snap.revision);
    }
    const value = req.refresh || isDir ? utf8(cur.value) : k.value;
    const parents = checkParents(snap, this.layout, p);
    const nodeLease = lease !== 0n ? lease : parents.ok ? parents.lease : 0n;
    const prevNode = await this.prevNode(snap, p, cur);
    return {
      action: k.op,
      ops: [put(isDir ? this.layout.dirKey(p) : this.layout.fileKey(p), value, nodeLease)],
      released: this.ownFileLease(snap, p, cur, isDir),
      answer: async (rev) => ({
        action: k.op,
        node: this.written(p, isDir, value, req.ttl, rev, Number(cur.createRevision)),
        prevNode,
        etcdIndex: rev,
      }),
    };
  }

  private async planDelete(req: WriteRequest, k: Extract<WriteKind, { op: 'delete' | 'compareAndDelete' }>, snap: Snapshot): Promise<Plan> {
    const p = req.key;
    const r = resolve(snap, this.layout, p);
    if (r.kind === 'missing') throw new V2Error(EcodeKeyNotFound, r.at, snap.revision);
    if (r.kind === 'notDir') throw new V2Error(EcodeNotDir, r.at, snap.revision);
    if (!r.kv) throw new V2Error(EcodeRootROnly, '/', snap.revision);
    const cur = r.kv;
    const isDir = r.kind === 'dir';
    const ops: pb.RequestOp[] = [];
    if (k.op === 'compareAndDelete') {
      if (isDir) throw new V2Error(EcodeNotFile, p, snap.revision);
      const cause = compareFailCause(cur, k.prevValue, k.prevIndex);
      if (cause !== undefined) throw new V2Error(EcodeTestFailed, cause, snap.revision);
      ops.push(del(this.layout.fileKey(p)));
    } else if (!isDir) {
      ops.push(del(this.layout.fileKey(p)));
    } else {
      if (!k.dir && !k.recursive) throw new V2Error(EcodeNotFile, p, snap.revision);
      if (!k.recursive && snap.hasKeysUnder(this.layout.childPrefix(p))) throw new V2Error(EcodeDirNotEmpty, p, snap.revision);
      ops.push(del(this.layout.dirKey(p)));
      if (k.recursive) ops.push(...(await this.subtreeDeletes(p, snap.revision)));
    }
    const prevNode = await this.prevNode(snap, p, cur);
    return {
      action: k.op,
      ops,
      released: this.ownFileLease(snap, p, cur, isDir),
      answer: async (rev) => ({
        action: k.op,
        node: { key: p, ...(isDir ? { dir: true } : {}), modifiedIndex: rev, createdIndex: Number(cur.createRevision) },
        prevNode,
        etcdIndex: rev,
      }),
    };
  }

  /** One prefix delete per depth that holds keys below p (the action key's compare keeps it current). */
  private async subtreeDeletes(p: string, revision: number): Promise<pb.RequestOp[]> {
    const ops: pb.RequestOp[] = [];
    for (let depth = 1; depth <= MAX_PATH_DEPTH; depth++) {
      const prefix = this.layout.depthPrefix(p, depth);
      const some = await this.ports.kv.range(rangeRequest(prefix, { rangeEnd: prefixEnd(prefix), revision: BigInt(revision), limit: 1n, keysOnly: true }));
      if (some.kvs.length === 0) break;
      ops.push(del(prefix, prefixEnd(prefix)));
    }
    return ops;
  }
}
