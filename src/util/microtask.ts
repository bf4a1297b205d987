// queueMicrotask without Node's wrapper. Node's queueMicrotask builds, for every
// call, an AsyncResource (a new async id, for async hooks) and a function bound
// to it, and runs the callback inside that resource's scope: about 1 KB per put
// on a member's hot path (the Raft driver's kick, a peer stream's flush) in a
// heap profile. A reaction on a promise that is already settled runs at the same
// place in the microtask queue for the price of that reaction.
//
// The callback must not throw: its exception would become an unhandled
// rejection, which stops the process as an uncaught exception from
// queueMicrotask does (the callers' callbacks catch what they can).

const SETTLED: Promise<void> = Promise.resolve();

/** Runs `fn` as a microtask (after the current synchronous code and the microtasks already queued). */
export function runSoon(fn: () => void): void {
  void SETTLED.then(fn);
}
