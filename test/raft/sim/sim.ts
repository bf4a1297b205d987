// The randomized simulation: N members under a hostile network with crashes,
// partitions, proposals, membership changes and compaction. Safety properties are
// checked after every step; liveness once the faults stop.

import {
  type Entry,
  type NodeId,
  type Ready,
  ConfChangeType,
  ErrProposalDropped,
  StateType,
} from '../../../src/raft/index.js';
import { Network } from './network.js';
import { SimNode, seeded, sig } from './node.js';

export interface SimConfig {
  seed: number;
  voters: number;
  steps: number;
}

const enc = new TextEncoder();

class SimFailure extends Error {}

export function runSim(cfg: SimConfig): { commits: number; leaders: number } {
  const rng = seeded(cfg.seed * 7919 + 13);
  const pick = <T>(a: T[]): T => a[Math.floor(rng() * a.length)];
  const fail = (msg: string): never => {
    throw new SimFailure(`seed=${cfg.seed} voters=${cfg.voters}: ${msg}`);
  };
  const opts = {
    electionTick: 10,
    heartbeatTick: rng() < 0.5 ? 1 : 3,
    preVote: rng() < 0.5,
    checkQuorum: rng() < 0.5,
    maxSizePerMsg: rng() < 0.5 ? 64 : 1024 * 1024,
    maxInflightMsgs: 1 + Math.floor(rng() * 8),
  };
  const net = new Network(rng, { drop: rng() * 0.2, duplicate: rng() * 0.1, maxDelay: Math.floor(rng() * 3) });

  const nodes = new Map<NodeId, SimNode>();
  net.onSnapLost = (from, to) => {
    const n = nodes.get(from);
    if (n?.alive) n.rn.reportSnapshot(to, false);
  };
  const ids: NodeId[] = [];
  const total = cfg.voters + 2; // two spares, joined by membership changes
  const peers = [];
  for (let i = 1; i <= cfg.voters; i++) peers.push({ id: BigInt(i), context: new Uint8Array(0) });

  // --- invariant state ---
  const chosen: string[] = []; // chosen[i-1]: the one entry committed/applied at index i
  const entryAt = new Map<string, string>(); // "index/term" -> signature
  const leaderOf = new Map<number, NodeId>();
  const checkedCommit = new Map<NodeId, number>();
  const checkedApplied = new Map<NodeId, number>();
  let leaders = 0;

  const choose = (i: number, s: string, what: string, id: NodeId) => {
    if (i <= chosen.length) {
      if (chosen[i - 1] !== s) fail(`${what} mismatch at index ${i} on node ${id}: ${s} vs chosen ${chosen[i - 1]}`);
    } else if (i === chosen.length + 1) chosen.push(s);
    else fail(`${what} gap at ${i} on node ${id} (chosen ${chosen.length})`);
  };
  const onReady = (n: SimNode, rd: Ready) => {
    for (const e of rd.entries) {
      const k = `${e.index}/${e.term}`;
      const s = sig(e);
      const prev = entryAt.get(k);
      if (prev === undefined) entryAt.set(k, s);
      else if (prev !== s) fail(`two different entries at index/term ${k} (node ${n.id})`);
    }
  };
  const makeNode = (id: NodeId) => {
    const n = new SimNode(id, { ...opts, random: seeded(cfg.seed * 31 + Number(id)) });
    n.onReady = onReady;
    return n;
  };
  for (let i = 1; i <= total; i++) {
    const id = BigInt(i);
    ids.push(id);
    const n = makeNode(id);
    if (i <= cfg.voters) n.rn.bootstrap(peers);
    nodes.set(id, n);
  }

  const logEntry = (n: SimNode, i: number): Entry | undefined => {
    const log = n.raft.raftLog;
    if (i < log.firstIndex() || i > log.lastIndex()) return undefined;
    return log.slice(i, i + 1)[0];
  };

  const check = () => {
    for (const n of nodes.values()) {
      if (!n.alive) continue;
      const r = n.raft;
      if (r.state === StateType.Leader) {
        const prev = leaderOf.get(r.term);
        if (prev === undefined) {
          leaderOf.set(r.term, n.id);
          leaders++;
          // Leader completeness: every chosen entry still reachable must be in its log.
          const log = r.raftLog;
          if (log.lastIndex() < Math.min(chosen.length, log.committed)) fail(`leader ${n.id} lacks committed entries`);
          for (let i = Math.max(log.firstIndex(), 1); i <= Math.min(chosen.length, log.lastIndex()); i++) {
            const e = logEntry(n, i)!;
            if (sig(e) !== chosen[i - 1]) fail(`leader ${n.id} term ${r.term} has a different entry at chosen index ${i}`);
          }
        } else if (prev !== n.id) fail(`two leaders in term ${r.term}: ${prev} and ${n.id}`);
      }
      // Committed entries never change.
      const from = Math.max((checkedCommit.get(n.id) ?? 0) + 1, r.raftLog.firstIndex());
      for (let i = from; i <= r.raftLog.committed; i++) choose(i, sig(logEntry(n, i)!), 'committed', n.id);
      checkedCommit.set(n.id, r.raftLog.committed);
      // Applied sequences are prefixes of one sequence.
      let a = checkedApplied.get(n.id) ?? 0;
      if (a > n.applied.length) a = 0;
      for (let i = a; i < n.applied.length; i++) choose(i + 1, n.applied[i], 'applied', n.id);
      checkedApplied.set(n.id, n.applied.length);
    }
  };

  const checkLogMatching = () => {
    const alive = [...nodes.values()].filter((n) => n.alive);
    for (let x = 0; x < alive.length; x++) {
      for (let y = x + 1; y < alive.length; y++) {
        const a = alive[x].raft.raftLog;
        const b = alive[y].raft.raftLog;
        const lo = Math.max(a.firstIndex(), b.firstIndex());
        const hi = Math.min(a.lastIndex(), b.lastIndex());
        let matched = false;
        for (let i = hi; i >= lo; i--) {
          const ta = a.termOr0(i);
          const tb = b.termOr0(i);
          if (ta === tb) matched = true;
          else if (matched) fail(`log matching violated at ${i} between ${alive[x].id} and ${alive[y].id}`);
        }
      }
    }
  };

  let now = 0;
  let proposals = 0;
  const pump = (rounds: number) => {
    for (let round = 0; round < rounds; round++) {
      for (const n of nodes.values()) {
        for (let k = 0; k < 4 && n.alive; k++) {
          const out = n.handleReady();
          if (out.length === 0 && !n.rn.hasReady()) break;
          for (const m of out) net.send(m, now);
        }
      }
      for (const m of net.due(now)) {
        const to = nodes.get(m.to);
        if (!to || !to.alive) {
          if (m.type === 7 /* MsgSnap */) net.onSnapLost!(m.from, m.to);
          continue;
        }
        to.rn.step(m);
        if (m.type === 7 /* MsgSnap */) {
          const from = nodes.get(m.from);
          if (from?.alive) from.rn.reportSnapshot(m.to, true);
        }
      }
    }
  };
  const currentLeader = (): SimNode | undefined => {
    let best: SimNode | undefined;
    for (const n of nodes.values()) if (n.alive && n.isLeader() && (!best || n.raft.term > best.raft.term)) best = n;
    return best;
  };
  const propose = (n: SimNode, data: string): boolean => {
    try {
      n.rn.propose(enc.encode(data));
      return true;
    } catch (e) {
      if (e instanceof ErrProposalDropped) return false;
      throw e;
    }
  };

  try {
    let spare = cfg.voters + 1;
    for (let step = 0; step < cfg.steps; step++) {
      const roll = rng();
      if (roll < 0.03) {
        // partition: random groups
        net.group.clear();
        for (const id of ids) net.group.set(id, rng() < 0.5 ? 0 : 1);
      } else if (roll < 0.08) {
        net.heal();
      } else if (roll < 0.1) {
        const alive = [...nodes.values()].filter((n) => n.alive);
        if (alive.length > 0) pick(alive).crash();
      } else if (roll < 0.15) {
        const dead = [...nodes.values()].filter((n) => !n.alive);
        if (dead.length > 0) pick(dead).restart();
      } else if (roll < 0.17) {
        const l = currentLeader();
        if (l) {
          const trk = l.raft.trk;
          const learners = [...trk.learners];
          const op = rng();
          let cc;
          if (spare <= total && op < 0.4) {
            cc = { type: rng() < 0.5 ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, nodeId: BigInt(spare++) };
          } else if (learners.length > 0 && op < 0.7) {
            cc = { type: ConfChangeType.AddNode, nodeId: pick(learners) };
          } else if (trk.voters.size >= 3) {
            cc = { type: ConfChangeType.RemoveNode, nodeId: pick([...trk.voters]) };
          }
          if (cc) {
            try {
              l.rn.proposeConfChange({ ...cc, context: new Uint8Array(0) });
            } catch (e) {
              if (!(e instanceof ErrProposalDropped)) throw e;
            }
          }
        }
      } else if (roll < 0.2) {
        const alive = [...nodes.values()].filter((n) => n.alive);
        if (alive.length > 0) pick(alive).compact(Math.floor(rng() * 4));
      } else if (roll < 0.2 + 0.4) {
        const alive = [...nodes.values()].filter((n) => n.alive);
        const k = 1 + Math.floor(rng() * 3);
        for (let i = 0; i < k && alive.length > 0; i++) propose(pick(alive), `p${proposals++}`);
      }
      for (const n of nodes.values()) if (n.alive) n.rn.tick();
      now++;
      pump(3);
      check();
      if (step % 25 === 24) checkLogMatching();
    }

    // --- liveness: stop faults, restart everyone still a member, expect progress ---
    net.heal();
    net.faults = { drop: 0, duplicate: 0, maxDelay: net.faults.maxDelay };
    // Whoever applied the most knows the latest membership; non-members are shut down.
    let newest: SimNode | undefined;
    for (const n of nodes.values()) if (!newest || n.applied.length > newest.applied.length) newest = n;
    const members = new Set([...newest!.confState.voters, ...newest!.confState.learners]);
    for (const n of nodes.values()) {
      if (members.has(n.id)) {
        if (!n.alive) n.restart();
      } else if (n.alive && n.raft.trk.progress.size > 0) n.crash();
    }
    const limit = 400;
    let t = 0;
    let committedAfter = false;
    let target = -1;
    let proposer: SimNode | undefined;
    for (; t < limit; t++) {
      const l = currentLeader();
      if (l && target < 0 && propose(l, 'final')) {
        proposer = l;
        target = l.raft.raftLog.lastIndex();
      }
      for (const n of nodes.values()) if (n.alive) n.rn.tick();
      now++;
      pump(3);
      check();
      if (target > 0 && proposer) {
        if (chosen.length >= target && chosen[target - 1]?.endsWith('/final')) {
          committedAfter = true;
          break;
        }
        // The proposal may have been lost with a leader change; propose again.
        if (!proposer.alive || !proposer.isLeader()) target = -1;
        else if (chosen.length >= target) target = -1;
      }
    }
    checkLogMatching();
    if (!committedAfter) {
      const dump = [...nodes.values()].map((n) => {
        const r = n.raft;
        const prs = [...r.trk.progress].map(([id, p]) => `${id}:${p.state[0]}${p.match}/${p.next}${p.isLearner ? 'L' : ''}${p.isPaused() ? 'P' : ''}${p.recentActive ? 'A' : ''}`);
        return `  n${n.id} alive=${n.alive} st=${r.state} term=${r.term} lead=${r.lead} commit=${r.raftLog.committed} applied=${r.raftLog.applied} last=${r.raftLog.lastIndex()} first=${r.raftLog.firstIndex()} prs=[${prs.join(' ')}] tr=${r.leadTransferee} pending=${net.pending()}`;
      });
      fail(`no commit within ${limit} ticks after healing (leader=${currentLeader()?.id}, chosen=${chosen.length}, target=${target})\n${dump.join('\n')}`);
    }
    return { commits: chosen.length, leaders };
  } catch (e) {
    if (e instanceof SimFailure) throw e;
    throw new SimFailure(`seed=${cfg.seed} voters=${cfg.voters}: ${(e as Error).stack}`);
  }
}
