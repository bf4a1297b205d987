// A process that only sleeps and wakes, to run beside a cluster under load: it
// sleeps SLEEP_US (default 200) in a loop for SECS seconds and prints
// "unix-ms overshoot-µs" for every wake-up that came more than THRESH_US late
// (default 700). Its stalls are times when this machine gave no CPU to a thread
// that had become runnable; bench/stage-timeline.cjs --probe lines them up with
// the slowest requests' idle gaps (docs/PERFORMANCE.md, twenty-second round).
// C rather than Node or Go: Node's timers and Go's sleep wake at millisecond
// granularity here, which is the size of what it looks for.
//
//   cc -O2 -o /tmp/stall-probe bench/stall-probe.c
//   /tmp/stall-probe 200 700 60 > /tmp/stalls &   # beside the run
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long ns_of(const struct timespec *t) { return (long long)t->tv_sec * 1000000000LL + t->tv_nsec; }

int main(int argc, char **argv) {
  long sleep_us = argc > 1 ? atol(argv[1]) : 200;
  long thresh_us = argc > 2 ? atol(argv[2]) : 700;
  long secs = argc > 3 ? atol(argv[3]) : 600;
  struct timespec nap = {sleep_us / 1000000, (sleep_us % 1000000) * 1000}, before, after, wall;
  clock_gettime(CLOCK_MONOTONIC, &before);
  long long end = ns_of(&before) + secs * 1000000000LL;
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &before);
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &after);
    long long over_us = (ns_of(&after) - ns_of(&before)) / 1000 - sleep_us;
    if (over_us > thresh_us) printf("%.3f %lld\n", wall.tv_sec * 1e3 + wall.tv_nsec / 1e6, over_us);
    if (ns_of(&after) > end) return 0;
  }
}
