// The checkers that judge a recorded history (history.ts): linearizability of
// the KV operations, serializable reads, durability and watch streams.

export * from './history.js';
export * from './keys.js';
export * from './model-state.js';
export * from './model.js';
export * from './response-match.js';
export * from './describe.js';
export * from './linearizability.js';
export * from './replay.js';
export * from './serializable.js';
export * from './durability.js';
export * from './watch.js';
export * from './lease-expiry.js';
export * from './check-history.js';
export * from './resolve-unknown.js';
export * from './resolve-lease-revokes.js';
