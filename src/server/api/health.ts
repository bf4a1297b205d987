// Health probes as etcd serves them (etcdhttp/health.go, release-3.5/3.6; etcd
// 3.4.23's binary has /health only, the k8s-style probes came in later patch
// releases):
//   /health   JSON {"health":"true"}; 503 with a reason when an alarm is active
//             (?exclude=NOSPACE, repeatable, ignores one), there is no leader
//             (not checked with ?serializable=true) or a read fails
//             (linearizable unless ?serializable=true).
//   /livez    checks serializable_read.
//   /readyz   checks data_corruption, serializable_read, linearizable_read, non_learner.
//   Both: "ok\n" (with ?verbose, one "[+]name ok" line per check first);
//   ?exclude=<check> (repeatable; an unknown name is ignored); /livez/<check> and
//   /readyz/<check> run one check; a failure is 503 with every check's line
//   ("[-]name failed: <error>").

import type * as pb from '../../pb/types.js';
import type { HealthSource } from './ports.js';
import { AuthError } from '../../auth/errors.js';

export interface HealthAnswer {
  status: number;
  body: string;
  /** True: the answer is etcd's http.Error (adds X-Content-Type-Options: nosniff). */
  error: boolean;
  /** Why /health failed (etcd 3.4 only logs it; its body has no reason field). */
  reason?: string;
}

type Check = () => Promise<void>;

function readRequest(serializable: boolean): pb.RangeRequest {
  return {
    key: Buffer.from('health'),
    rangeEnd: Buffer.alloc(0),
    limit: 1n,
    revision: 0n,
    sortOrder: 0,
    sortTarget: 0,
    serializable,
    keysOnly: true,
    countOnly: false,
    minModRevision: 0n,
    maxModRevision: 0n,
    minCreateRevision: 0n,
    maxCreateRevision: 0n,
  };
}

/**
 * The probe's read, answered. With auth enabled the probe (which has no user) is
 * refused, yet the member did answer: etcd 3.4.23's /health reads through the v2
 * store, which auth does not guard, and says {"health":"true"} (recorded); 3.5+
 * accept "user name is empty" and "permission denied" from their v3 read alike.
 */
async function probeRead(p: Promise<unknown>, ms: number): Promise<void> {
  try {
    await within(p, ms);
  } catch (err) {
    if (err instanceof AuthError && (err.code === 'user-empty' || err.code === 'permission-denied')) return;
    throw err;
  }
}

/** Rejects with "context deadline exceeded" (Go's text) if p takes longer than ms. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('context deadline exceeded')), ms);
    timer.unref();
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

export class HealthProbes {
  private readonly livez: Map<string, Check>;
  private readonly readyz: Map<string, Check>;

  constructor(
    private readonly source: HealthSource,
    private readonly timeoutMs = 7_000,
  ) {
    const read = (serializable: boolean): Check => async () => {
      await probeRead(this.source.range(readRequest(serializable)), this.timeoutMs);
    };
    this.livez = new Map([['serializable_read', read(true)]]);
    this.readyz = new Map<string, Check>([
      [
        'data_corruption',
        async () => {
          if (this.alarms().includes('CORRUPT')) throw new Error('alarm activated: CORRUPT');
        },
      ],
      ['serializable_read', read(true)],
      ['linearizable_read', read(false)],
      [
        'non_learner',
        async () => {
          if (this.source.isLearner?.()) throw new Error('not supported for learner');
        },
      ],
    ]);
  }

  private alarms(): string[] {
    return this.source.activeAlarms?.() ?? [];
  }

  /** The answer for pathname (undefined: not a health path). Method checks are the caller's. */
  async answer(pathname: string, query: URLSearchParams): Promise<HealthAnswer | undefined> {
    if (pathname === '/health') return this.health(query);
    const [, root, sub, ...rest] = pathname.split('/');
    const reg = root === 'livez' ? this.livez : root === 'readyz' ? this.readyz : undefined;
    if (!reg || rest.length > 0) return undefined;
    let names: string[];
    if (sub === undefined) {
      const excluded = new Set(query.getAll('exclude').filter((e) => e !== ''));
      names = [...reg.keys()].filter((n) => !excluded.has(n));
    } else if (reg.has(sub)) {
      names = [sub];
    } else {
      return undefined;
    }
    let out = '';
    let failed = false;
    for (const name of names) {
      try {
        await reg.get(name)!();
        out += `[+]${name} ok\n`;
      } catch (err) {
        failed = true;
        out += `[-]${name} failed: ${(err as Error).message}\n`;
      }
    }
    // Go's http.Error appends a newline to the text it is given.
    if (failed) return { status: 503, body: out + '\n', error: true };
    return { status: 200, body: (query.has('verbose') ? out : '') + 'ok\n', error: false };
  }

  private async health(query: URLSearchParams): Promise<HealthAnswer> {
    // etcd 3.4.23's body (recorded): {"health":"false"} through http.Error, with no
    // reason field (3.5 added one); the reason is kept for the log.
    const bad = (reason: string): HealthAnswer => ({ status: 503, body: '{"health":"false"}\n', error: true, reason });
    const excluded = new Set(query.getAll('exclude'));
    for (const alarm of this.alarms()) {
      if (excluded.has(alarm)) continue;
      return bad(alarm === 'NOSPACE' || alarm === 'CORRUPT' ? `ALARM ${alarm}` : 'ALARM UNKNOWN');
    }
    const serializable = query.get('serializable') === 'true';
    if (!serializable && this.source.leader === 0n) return bad('RAFT NO LEADER');
    try {
      await probeRead(this.source.range(readRequest(serializable)), this.timeoutMs);
    } catch (err) {
      return bad(`RANGE ERROR:${(err as Error).message}`);
    }
    return { status: 200, body: '{"health":"true"}', error: false };
  }
}
