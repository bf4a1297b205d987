// Reconnect delays: min, doubled per consecutive failure, capped at max, each
// jittered into [d/2, d] so members that lost each other do not retry in lockstep.

export class Backoff {
  private failures = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; counts one more failure. */
  next(): number {
    const d = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(d / 2 + (this.random() * d) / 2);
  }

  reset(): void {
    this.failures = 0;
  }
}
