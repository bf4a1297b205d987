// The etcdctl lock/elect steps run against etcd 3.4.23 (recorded into
// fixtures/lock-elect-etcdctl.json by record-lock-elect.ts) and against ours.
// etcdctl runs these recipes client side over KV, Lease and Watch; the steps
// check what it prints, who waits for whom, and that Ctrl-C hands over.
// Lease ids differ run to run: each distinct one becomes <lease1>, <lease2>...

import { CtlProcess } from './ctl-process.js';
import { sleep } from './cluster.js';

export interface Step {
  step: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Time in which a waiting etcdctl would have printed had it (wrongly) not waited. */
const STILL_WAITING_MS = 1_500;

export async function runLockElectSequence(endpoints: string): Promise<Step[]> {
  const leases = new Map<string, string>();
  const norm = (s: string): string =>
    s.replace(/\b(L\d|E\d)\/([0-9a-f]+)\b/g, (_m, name: string, hex: string) => {
      if (!leases.has(hex)) leases.set(hex, `<lease${leases.size + 1}>`);
      return `${name}/${leases.get(hex)}`;
    });
  const steps: Step[] = [];
  const started: CtlProcess[] = [];
  const record = (step: string, p: CtlProcess): void => {
    steps.push({ step, code: p.running ? null : p.code, stdout: norm(p.stdout), stderr: norm(p.stderr) });
  };
  const start = (args: string[]): CtlProcess => {
    const p = CtlProcess.start(endpoints, args);
    started.push(p);
    return p;
  };
  try {
    // A command run under the lock sees the key and the revision it was taken at.
    const run = start(['lock', 'L1', '--', 'sh', '-c', 'echo "key=$ETCD_LOCK_KEY rev=$ETCD_LOCK_REV"']);
    await run.exitOrKill();
    record('lock L1 with a command', run);

    // A held lock makes the next contender wait until Ctrl-C releases it.
    const holder = start(['lock', 'L2']);
    await holder.until('the lock to be held', () => holder.lineCount() >= 2);
    const waiter = start(['lock', 'L2', 'echo', 'second got the lock']);
    await sleep(STILL_WAITING_MS);
    record('lock L2 held', holder);
    record('second lock L2 while held', waiter);
    holder.interrupt();
    await holder.exitOrKill();
    await waiter.exitOrKill();
    record('lock L2 after Ctrl-C', holder);
    record('second lock L2 after the release', waiter);

    // Election: a leader, a listener, a candidate that waits and takes over.
    const leader = start(['elect', 'E1', 'p1']);
    await leader.until('the leader to be elected', () => leader.lineCount() >= 2);
    const listener = start(['elect', '--listen', 'E1']);
    await listener.until('the listener to see the leader', () => listener.lineCount() >= 2);
    const candidate = start(['elect', 'E1', 'p2']);
    await sleep(STILL_WAITING_MS);
    record('elect E1 p1', leader);
    record('elect --listen E1', listener);
    record('elect E1 p2 while p1 leads', candidate);
    leader.interrupt();
    await leader.exitOrKill();
    await candidate.until('the candidate to be elected', () => candidate.lineCount() >= 2);
    await listener.until('the listener to see the new leader', () => listener.lineCount() >= 4);
    record('elect E1 p1 after Ctrl-C', leader);
    record('elect E1 p2 after p1 resigned', candidate);
    record('elect --listen E1 after the change', listener);
    candidate.interrupt();
    listener.interrupt();
    await candidate.exitOrKill();
    await listener.exitOrKill();
    record('elect E1 p2 after Ctrl-C', candidate);
    record('elect --listen E1 after Ctrl-C', listener);
    return steps;
  } finally {
    await Promise.all(started.map((p) => p.kill()));
  }
}
