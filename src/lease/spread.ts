// Spreading of lease deadlines after a leader change.
//
// A new leader gives every lease a fresh deadline at once. Leases granted in a
// burst (say, 10,000 sessions opened at start-up) then fall due in the same
// instant, and their revokes would flood Raft and the revoke rate limit, starving
// other expiries behind them. etcd's Promote avoids that by pushing leases that
// crowd one second back, so that no more than three quarters of the revoke rate
// fall due per second; this is the same idea, in our words:
//
// walk the leases in deadline order, in windows that open at a lease's deadline;
// the first `perSecond` leases of a window keep their deadlines, the k-th one
// after that is placed k/perSecond seconds after the window opened. A placed
// lease extends the window, so the crowd behind it is spread too. Deadlines only
// ever move later: spreading never expires a lease early.

import type { LeaseId } from './types.js';

export interface Deadline {
  readonly id: LeaseId;
  readonly deadline: number;
}

/** Leases whose deadline must move later, with their new deadlines (ms). */
export function spreadDeadlines(leases: readonly Deadline[], perSecond: number): Deadline[] {
  if (perSecond <= 0 || leases.length <= perSecond) return [];
  const sorted = [...leases].sort((a, b) => a.deadline - b.deadline || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const moved: Deadline[] = [];
  let windowStart = sorted[0]!.deadline;
  let windowEnd = windowStart + 1000;
  let count = 0;
  for (const l of sorted) {
    if (l.deadline > windowEnd) {
      windowStart = l.deadline;
      windowEnd = windowStart + 1000;
      count = 1;
      continue;
    }
    count++;
    if (count <= perSecond) continue;
    const placed = windowStart + Math.ceil((count * 1000) / perSecond);
    if (placed > l.deadline) moved.push({ id: l.id, deadline: placed });
    if (placed > windowEnd) windowEnd = placed;
  }
  return moved;
}
