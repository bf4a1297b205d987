// Which tokens the collector deletes: those whose recorded creation time is at
// least the minimum age ago. (discoveryserver looks only at tokens created between
// minAge and 11×minAge ago; a token it missed once stays forever. Here any token
// past the age goes.) Pure.

export interface GcEntry {
  token: string;
  /** The value stored at creation: an RFC 3339 time. */
  created: string;
}

export interface GcDecision {
  expired: string[];
  /** Entries whose creation time cannot be read: left alone and logged. */
  unreadable: GcEntry[];
}

export function expiredTokens(entries: readonly GcEntry[], nowMs: number, minAgeMs: number): GcDecision {
  const expired: string[] = [];
  const unreadable: GcEntry[] = [];
  for (const e of entries) {
    const createdMs = Date.parse(e.created);
    if (Number.isNaN(createdMs)) unreadable.push(e);
    else if (nowMs - createdMs >= minAgeMs) expired.push(e.token);
  }
  return { expired, unreadable };
}

/** RFC 3339 in UTC without fractions, as discoveryserver's timeprefix writes it. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
