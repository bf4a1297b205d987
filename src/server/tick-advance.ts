// --initial-election-tick-advance (etcd server.go adjustTicks): a member that has
// just started (fresh or restarted) fast-forwards its election ticks so that, when
// no leader shows up, its first election comes about two ticks later instead of a
// whole randomised election timeout.
//
// etcd's rule, followed here: poll every 50 ms for up to rafthttp's ConnReadTimeout
// (5 s); as soon as more than one peer's message stream is active, advance
// electionTicks - 2 ticks, once. Peers connected first, so a vote can be won at
// once; two ticks left, in case the leader's first message is merely slow. With
// no (or one) peer connected in those 5 s nothing is advanced. A lone voter
// needs none of this: it campaigns at once whatever the flag (etcd-server.ts).
// On top of etcd: nothing is advanced once a leader is known (it would be moot).

import type { Cancel, Clock } from './raft-ports.js';

/** etcd: rafthttp.ConnReadTimeout, how long adjustTicks waits for peers. */
export const TICK_ADVANCE_WAIT_MS = 5000;
/** etcd: adjustTicks polls the transport this often. */
export const TICK_ADVANCE_POLL_MS = 50;

export interface TickAdvancePorts {
  clock: Pick<Clock, 'every' | 'now'>;
  electionTicks: number;
  /** Peers whose message stream is up (etcd: transport.ActivePeers()). */
  activePeers(): number;
  /** Whether a leader is known already. */
  leaderKnown(): boolean;
  /** Ticks the Raft driver `n` times (etcd: raftNode.advanceTicks). */
  advance(n: number): void;
  log?: { info(fields: Record<string, unknown>, msg: string): void };
}

/** Starts the wait; the returned function cancels it (member stopping). */
export function startTickAdvance(p: TickAdvancePorts): Cancel {
  p.log?.info({ 'election-ticks': p.electionTicks }, 'starting initial election tick advance');
  let polls = 0;
  const maxPolls = Math.floor(TICK_ADVANCE_WAIT_MS / TICK_ADVANCE_POLL_MS);
  let cancel: Cancel = () => {};
  let done = false;
  const finish = (): void => {
    done = true;
    cancel();
  };
  cancel = p.clock.every(TICK_ADVANCE_POLL_MS, () => {
    if (done) return;
    polls++;
    if (p.leaderKnown()) return finish();
    const peers = p.activePeers();
    if (peers > 1) {
      const ticks = p.electionTicks - 2;
      p.log?.info(
        { 'forward-ticks': ticks, 'election-ticks': p.electionTicks, 'active-remote-members': peers },
        'initialized peer connections; fast-forwarding election ticks',
      );
      finish();
      if (ticks > 0) p.advance(ticks);
      return;
    }
    if (polls >= maxPolls) finish();
  });
  if (done) cancel();
  return () => finish();
}
