#!/usr/bin/env bash
# Times what `orch bug report` does to match a report against 100,000 existing bugs: the
# exact-fingerprint lookup and, when that finds nothing, the LSH candidates scored by
# similarity — both through the on-disk index in the git dir. BUGS_BENCH_N changes the size.
set -euo pipefail
cd "$(dirname "$0")/.."
BUGS_BENCH_N="${BUGS_BENCH_N:-100000}" cargo test --release --test integration \
  bug_corpus::bench_matching_against_100k_bugs -- --ignored --nocapture 2>&1 |
  grep -E "built an index|report matching|panicked|FAILED"
