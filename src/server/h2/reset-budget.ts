// How many stream resets a client may cause before its connection is cut.
//
// A stream the client opens and at once resets costs it two tiny frames and
// costs us a call dispatched to the API (CVE-2023-44487, "rapid reset"); a
// client can also make us reset streams for it with frames that are stream
// errors or streams over the advertised limit ("MadeYouReset", 2025). Node's
// own HTTP/2 layer, which ours replaced on the client port, limits both through
// nghttp2's token bucket; we keep its defaults: 1,000 resets at once, then 33
// a second. Real clients reset a stream when a call is cancelled or times out,
// far below that. nghttp2 then sends GOAWAY INTERNAL_ERROR; we send
// ENHANCE_YOUR_CALM ("too many stream resets"), RFC 9113's code for a peer
// generating excessive load. etcd 3.4.23 sends nothing and keeps serving.

export const RESET_BURST = 1000;
export const RESETS_PER_SECOND = 33;

export class ResetBudget {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly burst = RESET_BURST,
    private readonly perSecond = RESETS_PER_SECOND,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.refilledAt = nowMs();
  }

  /** One more reset: false when the budget is spent (the connection should go). */
  take(): boolean {
    const now = this.nowMs();
    const earned = ((now - this.refilledAt) / 1000) * this.perSecond;
    if (earned >= 1) {
      // Whole tokens only, so the fraction keeps accruing; a bucket that overflows earns from now.
      const whole = Math.floor(earned);
      if (this.tokens + whole > this.burst) {
        this.tokens = this.burst;
        this.refilledAt = now;
      } else {
        this.tokens += whole;
        this.refilledAt += (whole / this.perSecond) * 1000;
      }
    }
    if (this.tokens === 0) return false;
    this.tokens--;
    return true;
  }
}
