// Small hooks shared by the pages: a poll that runs only while its page is
// mounted and the tab is visible (nothing runs when nobody looks), and a
// one-second clock for countdowns.

import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * Runs `tick` now and again `everyMs` after each run started (never two at
 * once; a slow run delays the next). Stops when the component unmounts.
 */
export function usePoll(tick: (signal: AbortSignal) => Promise<void>, everyMs: number, deps: unknown[] = []): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    const stop = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      if (stop.signal.aborted) return;
      const started = Date.now();
      if (!document.hidden) {
        try {
          await latest.current(stop.signal);
        } catch {
          // The tick reports its own errors; the poll goes on.
        }
      }
      if (stop.signal.aborted) return;
      timer = setTimeout(() => void run(), Math.max(0, everyMs - (Date.now() - started)));
    };
    void run();
    return () => {
      stop.abort();
      clearTimeout(timer);
    };
  }, [everyMs, ...deps]);
}

/** Date.now(), updated every second while mounted. */
export function useSecondClock(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}
