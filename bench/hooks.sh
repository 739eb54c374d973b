#!/usr/bin/env bash
# bench/hooks.sh [DIR]: how fast the hooks and verify are on a big repository.
# Builds DIR (default /tmp/bench-hooks) with shared/bench/make-repo (100,000 files, 1,000
# tasks in execute), adds 1,000 transition commits (execute -> review, one per task, events
# appended) with git fast-import, stages one code change, then prints medians of
#   git diff --cached --name-only      vs   orch hook pre-commit
# (no current task; a current task in execute; a staged legal transition), and the time of
# `orch verify` over the 1,000 transition commits. Uses hyperfine when installed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/bench-hooks}
make_repo=${MAKE_REPO:-/work/shared/bench/make-repo}
runs=${RUNS:-21}
(cd "$here" && cargo build --release -q)
orch="$here/target/release/orch"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com \
  GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
unset ORCH_TASK

if [ ! -f "$dir/.bench-ready" ]; then
  "$make_repo" "$dir" 100000 1000 >/dev/null
  cd "$dir"
  git config gc.auto 0
  base=$(git rev-parse HEAD)
  python3 - "$base" <<'PY' | git fast-import --quiet
import json, sys
base = sys.argv[1]
t = 1736778622
for i in range(1000):
    code = f"TSK-{i:06d}"
    d = f".orchestration/tasks/{code}"
    s = json.load(open(f"{d}/session.json"))
    s["phase_history"].append({"phase": "execute", "started_at": "2025-01-13T15:00:00Z",
                               "completed_at": "2025-01-13T16:00:00Z", "override": None,
                               "to": "review", "transition": "complete"})
    s["current_phase"] = "review"
    sess = json.dumps(s, indent=2) + "\n"
    ev = open(f"{d}/events.jsonl").read()
    for n, ty in enumerate(["orchestration.phase.execute.end", "orchestration.phase.review.start"]):
        ev += json.dumps({"id": f"evt_{i:08x}{n:08x}", "ts": "2025-01-13T16:00:00Z", "type": ty,
                          "session_key": s["session_key"], "entity_type": "task", "entity_id": code,
                          "actor": "Bench <bench@example.com>", "payload": {}}) + "\n"
    msg = (f"orch({code}): execute -> review\n\nOrchestration-Task: {code}\n"
           f"Orchestration-Session: {s['session_key']}\nOrchestration-Phase: review\n")
    out = [f"commit refs/heads/main", f"committer Bench <bench@example.com> {t + i} +0000",
           f"data {len(msg.encode())}", msg]
    if i == 0:
        out.append(f"from {base}")
    for path, content in ((f"{d}/session.json", sess), (f"{d}/events.jsonl", ev)):
        out += [f"M 100644 inline {path}", f"data {len(content.encode())}", content]
    sys.stdout.write("\n".join(out) + "\n")
PY
  git reset -q --hard main
  echo "$base" > .bench-base
  touch .bench-ready
  printf '.bench-*\n' >> .git/info/exclude
fi
cd "$dir"
base=$(cat .bench-base)
git reset -q --hard main
rm -rf .git/orchestration
echo "// changed" >> src/m01/s02/f201.rs
git add src/m01/s02/f201.rs

median() { # label, command...
  local label=$1; shift
  if command -v hyperfine >/dev/null; then
    hyperfine -N -w 3 -r "$runs" --export-json /tmp/bench-hf.json "$*" >/dev/null 2>&1
    python3 -c "import json;r=json.load(open('/tmp/bench-hf.json'))['results'][0];print(f\"{r['median']*1000:.1f}\")"
  else
    python3 - "$runs" "$@" <<'PY'
import subprocess, sys, time, statistics
runs = int(sys.argv[1]); cmd = sys.argv[2:]
for _ in range(3): subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ts = []
for _ in range(runs):
    t = time.perf_counter(); r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); ts.append(time.perf_counter() - t)
    if r.returncode != 0: sys.exit(f"{' '.join(cmd)} failed with {r.returncode}")
print(f"{statistics.median(ts)*1000:.1f}")
PY
  fi
}

echo "repository: $dir ($(git ls-files | wc -l) files, $(git rev-list --count "$base"..HEAD) transition commits)"
g=$(median git git diff --cached --name-only)
o=$(median orch "$orch" hook pre-commit)
echo "git diff --cached --name-only            median ${g} ms"
echo "orch hook pre-commit (no current task)   median ${o} ms   ratio $(python3 -c "print(f'{$o/$g:.2f}')")"
export ORCH_TASK=TSK-000001
o2=$(median orch "$orch" hook pre-commit)
echo "orch hook pre-commit (current task)      median ${o2} ms   ratio $(python3 -c "print(f'{$o2/$g:.2f}')")"
unset ORCH_TASK
# A staged legal transition (review -> close with its REVIEW.md), judged against the index.
printf '[git]\ncommit = false\n' >> .orchestration/config.toml
"$orch" -q phase complete TSK-000002 --override --reason bench >/dev/null 2>&1 || true
git add -A .orchestration/tasks/TSK-000002
echo "staged: $(git diff --cached --name-only | tr '\n' ' ')"
o3=$(median orch "$orch" hook pre-commit)
echo "orch hook pre-commit (staged transition) median ${o3} ms   ratio $(python3 -c "print(f'{$o3/$g:.2f}')")"
git reset -q --hard main
v=$(median verify "$orch" verify --range "$base..HEAD")
echo "orch verify --range base..HEAD (1,000 transition commits)  median ${v} ms"
