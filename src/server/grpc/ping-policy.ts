// grpc-go's keepalive enforcement (etcd: --grpc-keepalive-min-time, with
// PermitWithoutStream false): a client ping that comes sooner than MinTime
// after the previous one — or, with no call open, sooner than two hours — is a
// strike; the third strike closes the connection with GOAWAY
// ENHANCE_YOUR_CALM "too_many_pings". Sending headers or data resets the
// count at the next ping (a client's BDP pings follow our data).

/** grpc-go's maxPingStrikes: more than this many strikes and the client goes. */
const MAX_PING_STRIKES = 2;
/** grpc-go's defaultPingTimeout: how often a client with no call open may ping. */
export const IDLE_PING_INTERVAL_MS = 2 * 3_600_000;

export class PingPolicy {
  private strikes = 0;
  private lastPingAt = -Infinity;
  private resetPending = false;

  constructor(
    private readonly minTimeMs: number,
    private readonly permitWithoutCalls = false,
  ) {}

  /** The server sent headers or data. */
  sentData(): void {
    this.resetPending = true;
  }

  /** A PING from the client (not an ACK); true: the client pinged too often and must go. */
  onPing(openCalls: number, now: number): boolean {
    const last = this.lastPingAt;
    this.lastPingAt = now;
    if (this.resetPending) {
      this.resetPending = false;
      this.strikes = 0;
      return false;
    }
    const minGap = openCalls < 1 && !this.permitWithoutCalls ? IDLE_PING_INTERVAL_MS : this.minTimeMs;
    if (now - last < minGap) this.strikes++;
    return this.strikes > MAX_PING_STRIKES;
  }
}
