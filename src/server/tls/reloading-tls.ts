// TLS material that follows its files (etcd-io/etcd#11555, which etcd 3.4 cannot
// do for its CA bundle): the cert, key, trusted CA and CRL files are re-read every
// pollMs; when their bytes changed and the new set loads, listeners get it for
// new connections (Server#setSecureContext) and dialers for new dials (the
// generation changes). A set that does not load (a key written before its
// certificate, a truncated file) is logged once and the old material kept;
// existing connections are never touched.

import { filesDigest, loadTlsMaterial, type MaterialOptions, type TlsFiles, type TlsMaterial } from './material.js';

export const TLS_RELOAD_POLL_MS = 1000;

/** The logging the TLS pieces do (a pino Logger fits). */
export type TlsLog = Record<'info' | 'warn' | 'debug', (obj: Record<string, unknown>, msg: string) => void>;

export class ReloadingTls {
  private material: TlsMaterial;
  private digest: string;
  /** The digest of the last set that failed to load (logged once per distinct content). */
  private failedDigest = '';
  private gen = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(m: TlsMaterial) => void>();

  /** Loads the files now; throws (TlsMaterialError) when they do not load. */
  constructor(
    readonly files: TlsFiles,
    private readonly opts: MaterialOptions & { logger: Pick<TlsLog, 'info' | 'warn'>; side: 'client' | 'peer'; pollMs?: number },
  ) {
    this.digest = filesDigest(files);
    this.material = loadTlsMaterial(files, opts);
  }

  get current(): TlsMaterial {
    return this.material;
  }

  /** Bumped at each successful reload: dialers rebuild their credentials when it moves. */
  get generation(): number {
    return this.gen;
  }

  /** Called with the new material after each successful reload. Returns the unsubscribe. */
  onChange(fn: (m: TlsMaterial) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.checkNow(), this.opts.pollMs ?? TLS_RELOAD_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the files; true when new material was taken. */
  checkNow(): boolean {
    const digest = filesDigest(this.files);
    if (digest === this.digest || digest === this.failedDigest) return false;
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(this.files, this.opts);
    } catch (err) {
      this.failedDigest = digest;
      this.opts.logger.warn(
        { side: this.opts.side, err: (err as Error).message, ...this.files },
        'TLS files changed but do not load; keeping the previous certificate',
      );
      return false;
    }
    this.digest = digest;
    this.failedDigest = '';
    this.material = next;
    this.gen++;
    this.opts.logger.info({ side: this.opts.side, fingerprint: next.fingerprint256, ...this.files }, 'reloaded TLS certificates');
    for (const fn of this.listeners) fn(next);
    return true;
  }
}
