#!/usr/bin/env bash
# The cost of one committed transition: `orch phase complete` and `orch event add --commit`
# against `git commit --only -- <task folder>` over the same kind of change, on the synthetic
# repository (100k files, 10k tasks; a 15 MB index). Before every timed run a fresh change is
# made in the task folder (untimed); only the committing command is timed.
#   bench/commit.sh [REPO_DIR] [RUNS]   (REPO_DIR built with ../shared/bench/make-repo when missing)
# Targets: orch <= 0.25x git's median, orch peak RSS <= 64 MiB.
# The repository's branch and task folder are put back as they were at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=${1:-/tmp/orch-bench-core}
runs=${2:-15}
make_repo=${MAKE_REPO:-$here/../../shared/bench/make-repo}
[ -d "$repo/.git" ] || bash "$make_repo" "$repo" 100000 10000 10
cargo build --release --manifest-path "$here/../Cargo.toml" -q
orch=$here/../target/release/orch

# The same identity and no user or system config for orch and git alike.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
unset ORCH_TASK ORCH_NOW GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

cd "$repo"
task=TSK-000007
dir=.orchestration/tasks/$task
start=$(git rev-parse HEAD)
had_current=$([ -e .git/orchestration/current-task ] && echo yes || echo no)
results=$(mktemp); work=$(mktemp -d)
restore() {
  git reset -q --hard "$start"
  [ "$had_current" = yes ] || rm -f .git/orchestration/current-task
  rm -rf "$results" "$work" /tmp/orch-bench-strace.txt
}
trap restore EXIT

# t NAME RUNS PREP -- CMD...: PREP (untimed) before each run; medians go to $results.
t() { python3 "$here/measure.py" --runs "$2" --prep "$3" --results "$results" "$1" "${@:4}"; }

echo "# Notes" >"$dir/NOTES.md"
# The plan phase's gate: PLAN.md with Approach, Steps and Tests in the task's own words.
cat >"$dir/PLAN.md" <<'MD'
# Plan

## Approach

Measure one committed transition against git's own commit of the same folder.

## Steps

- [ ] complete the phase

## Tests

The benchmark's own timings.
MD
"$orch" -q event add "$task" custom.bench --commit
# The user's edit before each command (NOTES.md, tracked so `git commit --only` takes it).
cat >"$work/edit.sh" <<SH
echo "edit \$RANDOM\$RANDOM" >>"$dir/NOTES.md"
SH
# For git, also what orch's transition writes besides the edit: an events.jsonl line and a
# change to session.json (kept valid: orch runs on this task again afterwards).
cat >"$work/git-edit.sh" <<SH
bash "$work/edit.sh"
echo "{\"id\":\"evt_\$RANDOM\$RANDOM\"}" >>"$dir/events.jsonl"
sed -i "0,/\"started_at\": \"[^\"]*\"/s//\"started_at\": \"2025-01-13T14:\$((RANDOM % 50 + 10)):\$((RANDOM % 50 + 10))Z\"/" "$dir/session.json"
SH
cat >"$work/reopen.sh" <<SH
bash "$work/edit.sh"
"$orch" -q phase set "$task" plan
SH
edit="bash $work/edit.sh"
git_edit="bash $work/git-edit.sh"

echo "repository: $repo ($(git ls-files | wc -l) files, index $(($(stat -c %s .git/index) / 1024 / 1024)) MiB), task $task, $runs runs"
# phase complete: plan -> execute, after `phase set <task> plan` (reopen, untimed) and an edit.
t "orch phase complete (plan -> execute)" "$runs" \
  "bash $work/reopen.sh" -- "$orch" -q phase complete "$task"
t "orch event add --commit" "$runs" "$edit" -- "$orch" -q event add "$task" custom.bench --commit
t "git commit --only -- <task folder>" "$runs" "$git_edit" -- \
  git commit -q --only -m "bench" -- "$dir"

python3 - "$results" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
r = {n: (float(m), float(p)) for n, m, p in rows}
g = r["git commit --only -- <task folder>"][0]
for n, (m, p) in r.items():
    if n.startswith("orch"):
        ok = "ok" if m <= 0.25 * g else "ABOVE TARGET"
        mem = "ok" if p <= 64 else "ABOVE TARGET"
        print(f"{n:<44} {m / g:5.2f}x git (target <= 0.25: {ok}); peak {p:.1f} MiB (target <= 64: {mem})")
PY

# Where the time goes: system calls by wall time, for one run of each.
if command -v strace >/dev/null && [ "${STRACE:-1}" = 1 ]; then
  echo
  echo "strace -c -w (wall time per system call), one orch phase complete:"
  bash "$work/reopen.sh"
  strace -f -c -w -o /tmp/orch-bench-strace.txt "$orch" -q phase complete "$task"
  head -12 /tmp/orch-bench-strace.txt
  echo "one git commit --only:"
  $git_edit
  strace -f -c -w -o /tmp/orch-bench-strace.txt git commit -q --only -m bench -- "$dir"
  head -12 /tmp/orch-bench-strace.txt
fi
