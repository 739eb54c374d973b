#!/usr/bin/env bash
# Listing and status over many tasks: `orch task list` and `orch status` on the synthetic
# repository (10k tasks, 100k files) against git reading the same folder.
#   bench/core.sh [REPO_DIR]      (built with ../shared/bench/make-repo when missing)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=${1:-/tmp/orch-bench-core}
make_repo=${MAKE_REPO:-$here/../../shared/bench/make-repo}
[ -d "$repo/.git" ] || bash "$make_repo" "$repo" 100000 10000 10
cargo build --release --manifest-path "$here/../Cargo.toml" -q
orch=$here/../target/release/orch
m() { python3 "$here/measure.py" "$@"; }
cd "$repo"
echo "repository: $repo ($(ls .orchestration/tasks | wc -l) tasks)"
"$orch" task list >/dev/null   # first run fills the cache
m "orch task list" -- "$orch" task list
m "orch task list --json" -- "$orch" task list --json
m "orch status (all tasks)" -- "$orch" status --all
m "orch status TSK-000042" -- "$orch" status TSK-000042
m "git ls-files .orchestration/tasks" -- git ls-files .orchestration/tasks
m "git status -- .orchestration/tasks" -- git status --porcelain -- .orchestration/tasks
