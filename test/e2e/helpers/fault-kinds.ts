// The faults a round can inject, each with what makes it happen: a failpoint
// `panic` armed on the right member (any, the leader, a follower) through its
// HTTP endpoint, plus the traffic or request that reaches it (a conf change, a
// compaction, a defrag, a follower cut off until the leader must send it a
// snapshot); a kill -9 of a random member; a partition of one member. Each
// restarts what it crashed and heals what it cut before it returns.

import { sleep } from './cluster.js';
import type { FaultCluster } from './fault-cluster.js';
import type { HistoryRecorder } from './fault-history.js';
import type { Rng } from './fault-workload.js';
import type { Member } from './member.js';

/** What a fault may use while the round's workload runs. */
export interface FaultContext {
  fc: FaultCluster;
  rng: Rng;
  recorder: HistoryRecorder;
  /** The round's key prefix. */
  prefix: string;
  /** The revision every event up to which has been read already: compacting to it loses nothing the suite needs. */
  compactTo: number;
  /** --snapshot-count of the cluster. */
  snapshotCount: number;
  /** Writes `n` puts (recorded) through the given members, many at once. */
  bulk(n: number, through: Member[]): Promise<void>;
  note(text: string): void;
}

export interface FaultOutcome {
  /** The member the fault hit. */
  member: string;
  /** Whether it led or followed when it was hit, for the faults that pick one. */
  role?: 'leader' | 'follower';
  /** The fault happened (the failpoint fired and killed the member; the kill or partition was done). */
  happened: boolean;
}

export interface Fault {
  /** e.g. "raftBeforeSave=panic", "kill", "partition". */
  name: string;
  /** The group the short budget takes one fault of. */
  group: string;
  inject(ctx: FaultContext): Promise<FaultOutcome>;
}

type Target = 'any' | 'leader' | 'follower';

async function pick(ctx: FaultContext, target: Target): Promise<Member> {
  if (target === 'any') return ctx.rng.pick(ctx.fc.members);
  const leader = await ctx.fc.leader();
  if (target === 'leader') return leader;
  return ctx.rng.pick(ctx.fc.members.filter((m) => m !== leader));
}

/** Entries a follower must fall behind by before the leader can only send it a snapshot (log-compactor.ts keeps 5000 below a snapshot). */
const CATCH_UP_ENTRIES = 5000;

/**
 * Arms `failpoint=panic` on a member, runs `trigger` (if any), waits (bounded)
 * for the member to die of it, then starts it again. `before` runs ahead of
 * arming (cutting a follower off, say) and may return the heal step, which runs
 * after arming.
 */
function panicFault(
  failpoint: string,
  group: string,
  target: Target,
  trigger?: (ctx: FaultContext, m: Member) => Promise<void>,
  before?: (ctx: FaultContext, m: Member) => Promise<(() => void) | void>,
): Fault {
  return {
    name: `${failpoint}=panic`,
    group,
    async inject(ctx) {
      const m = await pick(ctx, target);
      const heal = await before?.(ctx, m);
      await ctx.fc.setFailpoint(m, failpoint, 'panic');
      heal?.();
      let triggerError: string | undefined;
      const triggered = trigger?.(ctx, m).catch((err: Error) => void (triggerError = err.message));
      const died = await ctx.fc.exited(m, 20_000);
      await triggered;
      if (!died) {
        if (triggerError) ctx.note(`trigger of ${failpoint} on ${m.name} failed: ${triggerError}`);
        await ctx.fc.clearFailpoint(m, failpoint);
        ctx.note(`${failpoint} did not fire on ${m.name} within 20 s`);
        return { member: m.name, happened: false };
      }
      const signal = m.proc?.signalCode;
      if (!ctx.fc.firedIn(m, failpoint) || signal !== 'SIGKILL') {
        ctx.note(`${m.name} exited (${signal ?? m.proc?.exitCode}) without ${failpoint} firing`);
      }
      await sleep(200 + ctx.rng.int(500)); // the others go on without it for a while
      await ctx.fc.restart(m);
      return { member: m.name, happened: true };
    },
  };
}

/** Cuts the follower off, writes until the leader must send it a snapshot; heal() comes after the failpoint is armed. */
async function cutUntilSnapshot(ctx: FaultContext, follower: Member): Promise<() => void> {
  ctx.fc.proxy.partition(follower.name);
  await ctx.bulk(CATCH_UP_ENTRIES + ctx.snapshotCount + 300, ctx.fc.members.filter((x) => x !== follower));
  return () => ctx.fc.proxy.heal();
}

const compactNow = async (ctx: FaultContext, m: Member): Promise<void> => {
  const via = ctx.fc.members.find((x) => x !== m && x.running) ?? m;
  const w = ctx.fc.workloadMembers.find((x) => x.member === via.name)!;
  await ctx.recorder.call(900, w, { kind: 'compact', revision: ctx.compactTo });
};

/** Writes enough for the member to take a snapshot of its own (--snapshot-count). */
const writeForSnapshot = (ctx: FaultContext): Promise<void> => ctx.bulk(ctx.snapshotCount + 200, ctx.fc.members.filter((x) => x.running));

export const FAULTS: Fault[] = [
  panicFault('raftBeforeSave', 'wal', 'any'),
  panicFault('raftAfterSave', 'wal', 'any'),
  panicFault('raftBeforeLeaderSend', 'send', 'leader'),
  panicFault('raftBeforeFollowerSend', 'send', 'follower'),
  panicFault('beforeApply', 'apply', 'any'),
  panicFault('afterApply', 'apply', 'any'),
  panicFault('beforeApplyOneConfChange', 'confchange', 'any', async (ctx, m) => {
    const via = ctx.fc.members.find((x) => x !== m)!;
    await ctx.fc.memberUpdateSame(via, ctx.rng.pick(ctx.fc.members));
  }),
  panicFault('beforeCommit', 'backend', 'any'),
  panicFault('afterCommit', 'backend', 'any'),
  panicFault('raftBeforeWALSaveSnaphot', 'snapshot', 'any', writeForSnapshot),
  panicFault('raftAfterWALRelease', 'snapshot', 'any', writeForSnapshot),
  panicFault('applyBeforeOpenSnapshot', 'snapshot-install', 'follower', undefined, cutUntilSnapshot),
  panicFault('raftBeforeSaveSnap', 'snapshot-install', 'follower', undefined, cutUntilSnapshot),
  panicFault('raftAfterSaveSnap', 'snapshot-install', 'follower', undefined, cutUntilSnapshot),
  panicFault('raftBeforeApplySnap', 'snapshot-install', 'follower', undefined, cutUntilSnapshot),
  panicFault('raftAfterApplySnap', 'snapshot-install', 'follower', undefined, cutUntilSnapshot),
  panicFault('compactBeforeCommitScheduledCompact', 'compaction', 'any', compactNow),
  panicFault('compactAfterCommitScheduledCompact', 'compaction', 'any', compactNow),
  panicFault('compactBeforeCommitBatch', 'compaction', 'any', compactNow),
  panicFault('compactAfterCommitBatch', 'compaction', 'any', compactNow),
  panicFault('defragBeforeCopy', 'defrag', 'any', (ctx, m) => ctx.fc.defragment(m)),
  panicFault('defragAfterCopy', 'defrag', 'any', (ctx, m) => ctx.fc.defragment(m)),
  {
    name: 'kill',
    group: 'kill',
    async inject(ctx) {
      const role = ctx.rng.next() < 0.5 ? 'leader' : 'follower';
      const m = await pick(ctx, role);
      await ctx.fc.kill9(m);
      await sleep(300 + ctx.rng.int(1_000));
      await ctx.fc.restart(m);
      return { member: m.name, role, happened: true };
    },
  },
  {
    name: 'partition',
    group: 'partition',
    async inject(ctx) {
      const role = ctx.rng.next() < 0.5 ? 'leader' : 'follower';
      const m = await pick(ctx, role);
      const cutId = await ctx.fc.memberId(m);
      ctx.fc.proxy.partition(m.name);
      await sleep(1_500 + ctx.rng.int(1_500)); // past an election timeout (1 s): a cut leader is replaced
      // The cut must hold: no link to or from the member, and the others follow someone else
      // (on a loaded machine the election may take longer: wait for it, bounded).
      const leaks = ctx.fc.proxy.openLinks().filter((l) => l.from === m.name || l.to === m.name);
      const othersLeader = async (): Promise<boolean> => {
        const sts = await Promise.all(ctx.fc.members.filter((x) => x !== m).map((x) => ctx.fc.status(x, 1_000).catch(() => undefined)));
        return sts.every((st) => st !== undefined && st.leader !== 0n && st.leader !== cutId && st.leader === sts[0]!.leader);
      };
      let stillLed = true;
      for (const deadline = Date.now() + 15_000; stillLed && Date.now() < deadline; ) {
        stillLed = !(await othersLeader());
        if (stillLed) await sleep(200);
      }
      ctx.fc.proxy.heal();
      if (leaks.length) ctx.note(`partition of ${m.name} leaked: ${JSON.stringify(leaks)}`);
      if (stillLed) ctx.note(`the others had no leader of their own 15 s after ${m.name} was cut off`);
      return { member: m.name, role, happened: leaks.length === 0 && !stillLed };
    },
  },
];
