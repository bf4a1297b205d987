// The nemesis: every so often (simulated time, seeded PRNG) it does one thing to
// the cluster: a power cut of a member (restarted from its disk a little later),
// a kill -9 of a member the moment its next store batch is on disk (the crash
// point where what one batch holds and what the WAL replays must fit together),
// a partition (halves, an isolated member, or a one-way cut), a lossy and
// reordering network, or a membership change (add a learner, promote it, remove a
// member). Each fault is undone after a while; heal() undoes what is left.

import type { SimCluster } from './sim-cluster.js';
import type { SimMember } from './sim-member.js';

export class Nemesis {
  readonly log: string[] = [];
  private stopped = false;
  private readonly restarts = new Set<SimMember>();

  constructor(private readonly cluster: SimCluster, private readonly meanGapMs: number) {}

  start(): void {
    this.schedule();
  }

  /** No new faults; the network heals and every member not removed is started again. */
  heal(): void {
    this.stopped = true;
    this.cluster.net.heal();
    for (const m of this.cluster.members) if (!m.up && !m.removed) void this.restart(m);
  }

  private schedule(): void {
    const { sched, rng } = this.cluster;
    sched.after(this.meanGapMs * (0.5 + rng()), () => {
      if (this.stopped) return;
      this.act();
      this.schedule();
    });
  }

  private note(what: string): void {
    this.log.push(`${this.cluster.sched.now().toFixed(0)}ms ${what}`);
  }

  private pick<T>(xs: readonly T[]): T | undefined {
    return xs[Math.floor(this.cluster.rng() * xs.length)];
  }

  private act(): void {
    const c = this.cluster;
    const r = c.rng();
    if (r < 0.2) this.crash(c.rng() < 0.4 ? c.leader() : this.pick(c.up()));
    else if (r < 0.3) this.crashAfterBatch(c.rng() < 0.4 ? c.leader() : this.pick(c.up()));
    else if (r < 0.5) this.partition();
    else if (r < 0.65) this.lossy();
    else if (r < 0.75) void this.addLearner();
    else if (r < 0.85) void this.promote();
    else if (r < 0.92) void this.remove();
    else if (r < 0.97) this.crashMany();
    else this.note('calm');
  }

  private crash(m: SimMember | undefined): void {
    if (!m || !m.up) return;
    const kind = this.cluster.rng() < 0.5 ? 'power' : 'process';
    this.note(`crash (${kind}) ${m.name}`);
    m.crash(kind);
    this.cluster.sched.after(100 + this.cluster.rng() * 3000, () => void this.restart(m));
  }

  /**
   * Arms a kill -9 of `m` for the moment its next store batch reaches the disk
   * (within 2 s, else it is disarmed): the process dies with that batch written
   * and whatever the store had staged after it gone.
   */
  private crashAfterBatch(m: SimMember | undefined): void {
    if (!m || !m.up) return;
    const { sched, rng } = this.cluster;
    const inc = m.current!;
    this.note(`arm kill -9 after the next store batch of ${m.name}`);
    const disarm = m.kvDisk.afterNextBatch(() => {
      if (this.stopped || m.current !== inc || !m.up) return;
      this.note(`crash (process, after a store batch) ${m.name}`);
      m.crash('process');
      sched.after(100 + rng() * 3000, () => void this.restart(m));
    });
    sched.after(2000, disarm);
  }

  /** A power cut of every member at once (only what each synced survives). */
  private crashMany(): void {
    const up = this.cluster.up();
    this.note(`power cut of all (${up.map((m) => m.name).join(',')})`);
    for (const m of up) {
      m.crash('power');
      this.cluster.sched.after(100 + this.cluster.rng() * 2000, () => void this.restart(m));
    }
  }

  private async restart(m: SimMember): Promise<void> {
    if (m.up || m.removed || this.restarts.has(m)) return;
    this.restarts.add(m);
    try {
      this.note(`restart ${m.name}`);
      await m.start();
    } finally {
      this.restarts.delete(m);
    }
  }

  private partition(): void {
    const c = this.cluster;
    const ids = c.members.filter((m) => !m.removed).map((m) => m.id);
    const shape = c.rng();
    if (shape < 0.4) {
      const alone = this.pick(ids)!;
      this.note(`isolate ${alone.toString(16)}`);
      c.net.partition([[alone], ids.filter((x) => x !== alone)]);
    } else if (shape < 0.7) {
      const shuffled = ids.slice().sort(() => c.rng() - 0.5);
      const cut = 1 + Math.floor(c.rng() * (shuffled.length - 1));
      this.note(`partition ${shuffled.slice(0, cut).length}/${shuffled.length - cut}`);
      c.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    } else {
      const from = this.pick(ids)!, to = this.pick(ids.filter((x) => x !== from))!;
      this.note(`cut one way ${from.toString(16)}>${to.toString(16)}`);
      c.net.cutLink(from, to);
    }
    c.sched.after(300 + c.rng() * 4000, () => {
      if (this.stopped) return;
      this.note('heal partition');
      c.net.heal();
    });
  }

  private lossy(): void {
    const c = this.cluster;
    const faults = { drop: c.rng() * 0.2, duplicate: c.rng() * 0.1, minDelayMs: 1, maxDelayMs: 5 + Math.floor(c.rng() * 80) };
    this.note(`lossy ${JSON.stringify(faults)}`);
    c.net.faults = faults;
    c.sched.after(500 + c.rng() * 3000, () => {
      if (this.stopped) return;
      c.net.faults = { drop: 0, duplicate: 0, minDelayMs: 1, maxDelayMs: 3 };
    });
  }

  private async addLearner(): Promise<void> {
    const c = this.cluster;
    const leader = c.leader();
    if (!leader || c.members.filter((m) => !m.removed).length >= 5) return;
    const peer = c.newPeer();
    try {
      const { member } = await leader.current!.server.memberAdd([peer.url], true);
      this.note(`added learner ${peer.name} ${member.id.toString(16)}`);
      const m = c.addJoiner(member.id, peer.name, peer.url);
      if (!this.stopped) await m.start();
    } catch (err) {
      this.note(`add learner refused: ${(err as Error).message}`);
    }
  }

  private async promote(): Promise<void> {
    const c = this.cluster;
    const leader = c.leader();
    if (!leader) return;
    const learner = this.pick(leader.current!.server.members().filter((m) => m.isLearner));
    if (!learner) return;
    try {
      await leader.current!.server.memberPromote(learner.id);
      this.note(`promoted ${learner.id.toString(16)}`);
    } catch (err) {
      this.note(`promote refused: ${(err as Error).message}`);
    }
  }

  private async remove(): Promise<void> {
    const c = this.cluster;
    const leader = c.leader();
    if (!leader) return;
    const members = leader.current!.server.members();
    const voters = members.filter((m) => !m.isLearner);
    // Keep at least three voters, so a single crash never costs the quorum for good.
    const candidates = voters.length > 3 ? members : members.filter((m) => m.isLearner);
    const victim = this.pick(candidates);
    if (!victim) return;
    try {
      await leader.current!.server.memberRemove(victim.id);
      this.note(`removed ${victim.id.toString(16)}`);
      const m = c.members.find((x) => x.id === victim.id);
      if (m) {
        m.removed = true;
        m.halt();
      }
    } catch (err) {
      this.note(`remove refused: ${(err as Error).message}`);
    }
  }
}
