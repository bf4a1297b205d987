#!/usr/bin/env bash
# The dashboard with 100,000 keys and 10 events a second on a watched prefix
# (issue 18): prints load rate, keys-page timings, range requests, watch event
# delays, long tasks and a rAF probe (bench/ui/responsive.e2e.ts says what each is).
#   UI_BENCH_KEYS=100000 UI_BENCH_RATE=10 UI_BENCH_SECONDS=20 bash bench/ui-responsive.sh
# SKIP_BUILD=1 skips `npm run build` (bin/etcd-ts runs dist/, the page is built with it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_BUILD:-}" = 1 ] || npm run build --silent
exec npx vitest run --config bench/ui/vitest.config.ts --root . --reporter=verbose
