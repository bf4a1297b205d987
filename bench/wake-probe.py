#!/usr/bin/env python3
"""A CPU wake-up probe: sleeps 1 ms in a loop for SECONDS and prints how late it
woke (percentiles, ms). Run it beside a benchmark to see whether the server's
threads keep every core busy for milliseconds at a time (docs/PERFORMANCE.md,
tenth round):

    python3 bench/wake-probe.py 4.5
"""
import sys
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
end = time.perf_counter() + seconds
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
