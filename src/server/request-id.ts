// Unique ids for proposals, shaped like etcd's: the low 16 bits of the member id,
// then a 48-bit counter seeded from the clock in milliseconds, so ids stay unique
// across members and across restarts of one member.

const COUNTER_BITS = 48;
const COUNTER_SPACE = 2 ** COUNTER_BITS;

export class RequestIdGenerator {
  private readonly prefix: bigint;
  private counter: number;

  constructor(memberId: bigint) {
    this.prefix = (memberId & 0xffffn) << BigInt(COUNTER_BITS);
    // Milliseconds shifted by 8 bits leave room for 256 ids per ms before the clock catches up.
    this.counter = ((Date.now() * 256) % COUNTER_SPACE);
  }

  next(): bigint {
    this.counter = (this.counter + 1) % COUNTER_SPACE;
    return this.prefix | BigInt(this.counter);
  }
}
