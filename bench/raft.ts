// Micro-benchmark of the pure Raft core: three in-memory members, a leader fed
// small proposals in batches, every Ready processed per the contract (persist to
// MemoryStorage, deliver messages, apply, advance). Prints committed entries/s.
//
//   npx tsc -p . && node dist/bench/raft.js [totalEntries] [batch]

import { type Message, type NodeId, type Ready, MemoryStorage, RawNode, StateType } from '../src/raft/index.js';

const total = Number(process.argv[2] ?? 1_000_000);
const batch = Number(process.argv[3] ?? 256);
/** 'single': one propose() call per entry (how a server feeds it) instead of proposeBatch. */
const single = process.argv[4] === 'single';

interface Member {
  id: NodeId;
  rn: RawNode;
  storage: MemoryStorage;
  applied: number;
}

let seed = 42;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

const members: Member[] = [];
const peers = [1n, 2n, 3n].map((id) => ({ id, context: new Uint8Array(0) }));
for (const p of peers) {
  const storage = new MemoryStorage();
  const rn = new RawNode({ id: p.id, electionTick: 10, heartbeatTick: 1, storage, random, maxInflightMsgs: 256 });
  rn.bootstrap(peers);
  members.push({ id: p.id, rn, storage, applied: 0 });
}
const byId = new Map(members.map((m) => [m.id, m]));

let queue: Message[] = [];
function handle(m: Member): boolean {
  if (!m.rn.hasReady()) return false;
  const rd: Ready = m.rn.ready();
  if (rd.snapshot) m.storage.applySnapshot(rd.snapshot);
  if (rd.entries.length > 0) m.storage.append(rd.entries);
  if (rd.hardState) m.storage.setHardState(rd.hardState);
  for (const msg of rd.messages) queue.push(msg);
  for (const e of rd.committedEntries) {
    m.applied = e.index;
    if (e.type === 1) m.rn.applyConfChange({ type: 0, nodeId: m.id, context: new Uint8Array(0) });
  }
  m.rn.advance(rd);
  return true;
}

function pump(): void {
  for (;;) {
    let moved = false;
    for (const m of members) if (handle(m)) moved = true;
    if (queue.length > 0) {
      moved = true;
      const q = queue;
      queue = [];
      for (const msg of q) byId.get(msg.to)!.rn.step(msg);
    }
    if (!moved) return;
  }
}

members[0].rn.campaign();
pump();
const leader = members[0];
if (leader.rn.status().softState.raftState !== StateType.Leader) throw new Error('no leader');

const payload = new Uint8Array(16);
const startApplied = leader.applied;
const t0 = performance.now();
let proposed = 0;
const datas: Uint8Array[] = new Array(batch).fill(payload);
while (proposed < total) {
  // Several batches per pump: proposals accumulate while the previous round is in flight.
  for (let k = 0; k < 4 && proposed < total; k++) {
    if (single) for (let i = 0; i < batch; i++) leader.rn.propose(payload);
    else leader.rn.proposeBatch(datas);
    proposed += batch;
  }
  pump();
  // Keep memory flat, as a real server's snapshots would.
  for (const m of members) {
    if (m.applied - m.storage.firstIndex() > 100_000) m.storage.compact(m.applied - 10_000);
  }
}
pump();
const ms = performance.now() - t0;
const committed = leader.applied - startApplied;
const followersOk = members.every((m) => m.applied === leader.applied);
console.log(
  `raft bench: ${committed} entries committed+applied on 3 members in ${ms.toFixed(0)} ms ` +
    `= ${Math.round((committed / ms) * 1000).toLocaleString('en-US')} entries/s (batch ${batch}${single ? ' via propose()' : ''}, followers in sync: ${followersOk})`,
);
