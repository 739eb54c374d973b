#!/usr/bin/env bash
# bench/changes.sh [DIR] [RUNS]
# `orch changes --stdout` against `git diff --numstat` over the same range: a commit changing
# 1,000 files in a 100,000-file repository (shared/bench/make-repo, 100 tasks). The commands
# alternate run by run; medians and minimums are both reported (minimums are the least
# disturbed by other load).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/bench-changes}; runs=${2:-15}
orch=${ORCH:-$here/target/release/orch}
# Unless ORCH names a binary, build the current tree first (a no-op when up to date).
[ -n "${ORCH:-}" ] || (cd "$here" && cargo build --release -q)
export GIT_CONFIG_NOSYSTEM=1 ORCH_NOW=2025-01-13T14:30:22Z
if [ ! -f "$dir/.bench-changes-ready" ]; then
  /work/shared/bench/make-repo "$dir" 100000 100 >/dev/null
  cd "$dir"
  git config gc.auto 0
  git add -A >/dev/null && git commit -qm "bench setup" >/dev/null 2>&1 || true
  git rev-parse HEAD > .git/bench-base
  python3 - <<'PY'
import os
for i in range(0, 100000, 100):
    p = f"src/m{i % 100:02d}/s{(i // 100) % 100:02d}/f{i}.rs"
    with open(p, "a") as f:
        f.write(f"// changed {i}\npub fn g{i}() {{}}\n")
PY
  git commit -qam "change 1000 files"
  touch .bench-changes-ready
fi
cd "$dir"
base=$(cat .git/bench-base); head=$(git rev-parse HEAD)
echo "files changed: $(git diff --shortstat "$base" "$head")"
python3 - "$orch" "$base" "$head" "$runs" <<'PY'
import subprocess, sys, time, statistics
orch, base, head, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cmds = {
    "orch changes --stdout": [orch, "changes", "TSK-000000", "--stdout", "--base", base, "--head", head],
    "git diff --numstat": ["git", "diff", "--numstat", base, head, "--", ".", ":!.orchestration"],
}
for cmd in cmds.values():
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)  # warm-up
# Runs alternate between the commands, so both see the same load on a busy machine.
ts = {name: [] for name in cmds}
for _ in range(runs):
    for name, cmd in cmds.items():
        t = time.perf_counter(); subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True); ts[name].append(time.perf_counter() - t)
res = {name: statistics.median(v) * 1000 for name, v in ts.items()}
best = {name: min(v) * 1000 for name, v in ts.items()}
for name in cmds:
    print(f"{name:24s} median {res[name]:7.1f} ms  min {best[name]:7.1f} ms  over {runs} runs")
o, g = "orch changes --stdout", "git diff --numstat"
print(f"ratio orch/git: {res[o] / res[g]:.2f}x (medians), {best[o] / best[g]:.2f}x (minimums)")
PY
