// Flow control for one follower: the last indexes of append messages sent but not
// yet acknowledged, in a fixed-size ring. When full, the leader stops sending.

export class Inflights {
  private start = 0;
  count = 0;
  readonly size: number;
  private buffer: number[];

  constructor(size: number) {
    this.size = size;
    // Grown lazily: most followers never have many messages in flight.
    this.buffer = [];
  }

  add(inflight: number): void {
    if (this.full()) throw new Error('cannot add into a full inflights');
    let next = this.start + this.count;
    if (next >= this.size) next -= this.size;
    if (next >= this.buffer.length) this.buffer.push(inflight);
    else this.buffer[next] = inflight;
    this.count++;
  }

  /** Release every message whose last index is ≤ to (they were acknowledged). */
  freeLE(to: number): void {
    if (this.count === 0 || to < this.buffer[this.start]) return;
    let idx = this.start;
    let i = 0;
    for (; i < this.count; i++) {
      if (to < this.buffer[idx]) break;
      idx++;
      if (idx >= this.size) idx -= this.size;
    }
    this.count -= i;
    this.start = idx;
    if (this.count === 0) this.start = 0;
  }

  freeFirstOne(): void {
    if (this.count === 0) return;
    this.freeLE(this.buffer[this.start]);
  }

  full(): boolean {
    return this.count === this.size;
  }

  reset(): void {
    this.count = 0;
    this.start = 0;
  }
}
