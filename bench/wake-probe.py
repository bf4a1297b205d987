#!/usr/bin/env python3
"""A CPU wake-up probe: sleeps 1 ms in a loop for SECONDS and prints how late it
woke (percentiles, ms). Run it beside a benchmark to see whether the server's
threads keep every core busy for milliseconds at a time (docs/PERFORMANCE.md,
tenth round):

    python3 bench/wake-probe.py 4.5

With --stalls, it sleeps 0.2 ms instead and prints one line per wake-up more
than 0.7 ms late, "unix-ms overshoot-µs" (when the sleep began, how late it
ended): the times this machine gave no CPU to a thread that had become runnable,
for bench/stage-timeline.cjs --probe to line up with the slowest requests
(docs/PERFORMANCE.md, twenty-second round):

    python3 bench/wake-probe.py 60 --stalls > /tmp/stalls &
"""
import sys
import time

args = [a for a in sys.argv[1:] if not a.startswith("--")]
seconds = float(args[0]) if args else 5.0
end = time.perf_counter() + seconds

if "--stalls" in sys.argv:
    NAP, LATE = 0.0002, 0.0007
    out = sys.stdout
    while time.perf_counter() < end:
        wall = time.time()
        t = time.perf_counter()
        time.sleep(NAP)
        over = time.perf_counter() - t - NAP
        if over > LATE:
            out.write(f"{wall * 1000:.3f} {over * 1e6:.0f}\n")
            out.flush()
    sys.exit(0)

late = []
while time.perf_counter() < end:
    t = time.perf_counter()
    time.sleep(0.001)
    late.append((time.perf_counter() - t - 0.001) * 1000)
late.sort()


def pct(q):
    return late[min(len(late) - 1, int(q * len(late)))]


print(f"wake probe: {len(late)} sleeps, ms late p50 {pct(0.5):.3f} p90 {pct(0.9):.3f} "
      f"p99 {pct(0.99):.3f} p99.9 {pct(0.999):.3f} max {late[-1]:.2f}")
