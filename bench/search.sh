#!/usr/bin/env bash
# `orch search` against `rg -F -i` over the same files, on the synthetic repository
# (10k tasks, 100k events, 100k source files):
#   - warm: the index is up to date;
#   - cold: no index yet, so the search builds it first;
#   - after one transition: `orch event add --commit` (untimed) moves HEAD, the timed search
#     brings the index up to date and answers.
#   bench/search.sh [REPO_DIR] [RUNS]   (REPO_DIR built with ../shared/bench/make-repo when missing)
# Targets: warm <= 20 ms and <= 0.1x rg; cold <= 1.0x rg; after one transition <= 30 ms.
# ripgrep is installed with apt-get when missing. The repository is put back at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=${1:-/tmp/orch-bench-core}
runs=${2:-15}
make_repo=${MAKE_REPO:-$here/../../shared/bench/make-repo}
[ -d "$repo/.git" ] || bash "$make_repo" "$repo" 100000 10000 10
command -v rg >/dev/null || { apt-get update -qq && apt-get install -y -qq ripgrep >/dev/null; }
cargo build --release --manifest-path "$here/../Cargo.toml" -q
orch=$here/../target/release/orch

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
unset ORCH_TASK ORCH_NOW GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

cd "$repo"
start=$(git rev-parse HEAD)
restore() {
  git reset -q --hard "$start"
}
trap restore EXIT

# ms NAME RUNS WARMUP PREP -- CMD...: the median in ms; PREP (may be "") untimed before each
# run; rg's exit 1 (no match) is still a measured run.
ms() {
  python3 "$here/measure.py" --runs "$2" --warmup "$3" --prep "$4" --ok 0,1 "$1" "${@:5}" |
    awk '{ for (i = 1; i < NF; i++) if ($i == "median") { print $(i + 1); exit } }'
}
ratio() { python3 -c "print(f'{$1 / $2:.3f}')"; }

files=$(find .orchestration/tasks -type f | wc -l)
echo "repository: $repo ($files files under .orchestration/tasks)"
printf '%-22s %10s %10s %10s %8s %10s %8s\n' query rg_ms warm_ms ratio ok cold_ms ratio
# query for orch | the same text for rg -F -i
queries=("omega|omega" "\"zeta commit\"|zeta commit" "pars*|pars" "task:TSK-004242 lambda|lambda")
cold_runs=$(( runs < 3 ? runs : 3 ))
fail=0
for pair in "${queries[@]}"; do
  q=${pair%%|*}; r=${pair#*|}
  rg_ms=$(ms rg "$runs" 2 "" -- rg -F -i -c "$r" .orchestration/tasks)
  cold=$(ms cold "$cold_runs" 0 "rm -rf .git/orchestration/search" -- "$orch" search --scope project "$q")
  warm=$(ms warm "$runs" 3 "" -- "$orch" search --scope project "$q")
  wr=$(ratio "$warm" "$rg_ms"); cr=$(ratio "$cold" "$rg_ms")
  ok=$(python3 -c "print('yes' if $warm <= 20 and $wr <= 0.1 and $cr <= 1.0 else 'NO')")
  [ "$ok" = yes ] || fail=1
  printf '%-22s %10s %10s %10s %8s %10s %8s\n' "$q" "$rg_ms" "$warm" "$wr" "$ok" "$cold" "$cr"
done

# One committed transition before each timed search.
n=0
prep="n=\$(date +%s%N); $orch event add TSK-000007 custom.note --data '{\"text\":\"bench '\$n'\"}' --commit"
after=$(ms after-transition "$runs" 2 "$prep" -- "$orch" search --scope project omega)
warm=$(ms warm "$runs" 3 "" -- "$orch" search --scope project omega)
ok=$(python3 -c "print('yes' if $after <= 30 else 'NO')")
[ "$ok" = yes ] || fail=1
echo "search after one transition: ${after} ms (warm ${warm} ms; target <= 30 ms): $ok"
du -sh .git/orchestration/search | awk '{print "index size: " $1}'
exit $fail
