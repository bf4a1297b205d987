// bcrypt, as etcd hashes passwords (golang.org/x/crypto/bcrypt): bcryptjs is a
// pure-JS implementation whose "$2a$"/"$2b$" hashes Go verifies and whose
// verifier accepts Go's, so a store image carrying etcd's hashes keeps working.
// Hashing and comparing run asynchronously (bcryptjs yields between rounds), so a
// cost-10 hash (~100 ms) does not stall the event loop.

import bcrypt from 'bcryptjs';

/** etcd's bcrypt.MinCost / MaxCost / DefaultCost. */
export const BCRYPT_MIN_COST = 4;
export const BCRYPT_MAX_COST = 31;
export const BCRYPT_DEFAULT_COST = 10;

/** etcd falls back to the default (with a warning) for a cost outside [4, 31]. */
export function effectiveBcryptCost(cost: number): number {
  return cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST ? BCRYPT_DEFAULT_COST : cost;
}

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, effectiveBcryptCost(cost));
}

/** True when `password` matches `hash`; false for a malformed hash too. */
export async function passwordMatches(password: string, hash: string): Promise<boolean> {
  if (hash === '') return false;
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}
