// The grpc-timeout request header (gRPC over HTTP/2: "Timeout → TimeoutValue
// TimeoutUnit", at most 8 ASCII digits, then H M S m u n), as the time the
// call may take in milliseconds.

const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

const MAX_DIGITS = 8;

/** Milliseconds (may be fractional), or undefined when the value is malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const n = value.length;
  if (n < 2 || n > MAX_DIGITS + 1) return undefined;
  const unit = UNIT_MS[value[n - 1]!];
  if (unit === undefined) return undefined;
  let amount = 0;
  for (let i = 0; i < n - 1; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    amount = amount * 10 + d;
  }
  return amount * unit;
}

/**
 * The longest delay a Node timer takes (2^31-1 ms, ~24.8 days; a longer one
 * fires at once). A later deadline is waited for in steps of this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
