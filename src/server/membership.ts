// The cluster's members as the committed log describes them. Built only by the
// applier, from conf-change entries (peer URLs, learner flag) and member-attribute
// entries (name, client URLs); both are replayed on every restart, so this state
// needs no storage of its own beyond the log and Raft snapshots.

import { type ConfChange, ConfChangeType } from '../raft/types.js';

export interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** What a conf-change entry carries in its context (etcd stores the member as JSON too). */
interface MemberContext {
  id: string;
  name?: string;
  peerURLs: string[];
  isLearner?: boolean;
}

export function encodeMemberContext(m: { id: bigint; name: string; peerURLs: string[]; isLearner: boolean }): Uint8Array {
  const ctx: MemberContext = { id: m.id.toString(16), name: m.name, peerURLs: m.peerURLs, isLearner: m.isLearner };
  return Buffer.from(JSON.stringify(ctx));
}

export class Membership {
  private readonly members = new Map<bigint, Member>();
  private readonly removed = new Set<bigint>();

  constructor(
    readonly clusterId: bigint,
    readonly localId: bigint,
  ) {}

  applyConfChange(cc: ConfChange): void {
    switch (cc.type) {
      case ConfChangeType.AddNode:
      case ConfChangeType.AddLearnerNode: {
        const ctx = JSON.parse(Buffer.from(cc.context).toString('utf8')) as MemberContext;
        const existing = this.members.get(cc.nodeId);
        const isLearner = cc.type === ConfChangeType.AddLearnerNode;
        if (existing) {
          // Adding a node that is already a learner promotes it.
          existing.isLearner = isLearner;
          return;
        }
        this.members.set(cc.nodeId, {
          id: cc.nodeId,
          name: ctx.name ?? '',
          peerURLs: ctx.peerURLs,
          clientURLs: [],
          isLearner,
        });
        return;
      }
      case ConfChangeType.RemoveNode:
        this.members.delete(cc.nodeId);
        this.removed.add(cc.nodeId);
        return;
      case ConfChangeType.UpdateNode: {
        const ctx = JSON.parse(Buffer.from(cc.context).toString('utf8')) as MemberContext;
        const m = this.members.get(cc.nodeId);
        if (m) m.peerURLs = ctx.peerURLs;
        return;
      }
    }
  }

  setAttributes(id: bigint, name: string, clientURLs: string[]): void {
    const m = this.members.get(id);
    if (!m) return;
    m.name = name;
    m.clientURLs = clientURLs;
  }

  get(id: bigint): Member | undefined {
    return this.members.get(id);
  }

  isRemoved(id: bigint): boolean {
    return this.removed.has(id);
  }

  /** The membership as carried in Raft snapshot data (ids as hex strings). */
  toSnapshot(): Uint8Array {
    const members = this.list().map((m) => ({ ...m, id: m.id.toString(16) }));
    return Buffer.from(JSON.stringify({ members, removed: [...this.removed].map((id) => id.toString(16)) }));
  }

  /** Replaces the membership with what a Raft snapshot carried. */
  restore(data: Uint8Array): void {
    const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as {
      members: (Omit<Member, 'id'> & { id: string })[];
      removed: string[];
    };
    this.members.clear();
    this.removed.clear();
    for (const m of parsed.members) this.members.set(BigInt('0x' + m.id), { ...m, id: BigInt('0x' + m.id) });
    for (const id of parsed.removed) this.removed.add(BigInt('0x' + id));
  }

  /** Sorted by id, as etcd lists them. */
  list(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
