#!/usr/bin/env bash
# tantivy (the engine of `orch search`) against SQLite FTS5 on the benchmark corpus: clean
# compile time, stripped binary size, index build time and size, and query time in the
# process and end to end, with `rg -F -i -c` over the same files as a reference.
#   bench/engines.sh [CORPUS_REPO] [RUNS]   (defaults: /tmp/orch-bench-search, 15)
# CORPUS_REPO comes from ../shared/bench/make-repo and is only read: its task folders are
# copied first, so that both engines and rg see the same files even if the repository
# changes meanwhile. The engines are the binaries of bench/engines/ (bench-corpus, with no
# engine, is the baseline of size and compile time), each built from nothing in its own
# target folder under CARGO_TARGET_DIR (default /tmp/engines-target); indexes and the copy
# go to ENGINES_WORK (default /tmp/engines-work). ripgrep is installed when missing.
# Exits 1 when the engines disagree on a document or hit count.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=${1:-/tmp/orch-bench-search}
runs=${2:-15}
make_repo=${MAKE_REPO:-$(realpath -m "$here/../../shared/bench/make-repo")}
manifest=$here/engines/Cargo.toml
target=${CARGO_TARGET_DIR:-/tmp/engines-target}
work=${ENGINES_WORK:-/tmp/engines-work}
engines=(tantivy fts5)

if [ ! -d "$repo/.orchestration/tasks" ]; then
  echo "engines.sh: no benchmark corpus at $repo (it has no .orchestration/tasks)." >&2
  echo "Make it first (a few minutes): bash $make_repo $repo 100000 10000 10" >&2
  exit 2
fi
command -v rg >/dev/null || { apt-get update -qq && apt-get install -y -qq ripgrep >/dev/null; }

# kv KEY: the value of KEY in the `key=value` line on stdin.
kv() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
# median: of the numbers on stdin, one a line.
median() {
  sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# wall NAME RUNS WARMUP -- CMD...: the median wall time of CMD in ms (a whole process).
wall() {
  python3 "$here/measure.py" --runs "$2" --warmup "$3" --ok 0,1 "$1" -- "${@:5}" |
    awk '{ for (i = 1; i < NF; i++) if ($i == "median") { print $(i + 1); exit } }'
}
# ratio A B [FORMAT]: A / B.
ratio() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (b > 0) printf f, a / b; else printf "-" }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

mkdir -p "$work/bin"
fail=0
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg) at start; $(rustc --version)"

# --- clean compile and binary size -------------------------------------------------------
# Sources are fetched first, so that the timed builds compile and download nothing.
cargo fetch -q --manifest-path "$manifest"
declare -A compile_s compile_cpu size unstripped
TIMEFORMAT='%R %U %S'
for e in corpus "${engines[@]}"; do
  features=()
  [ "$e" = corpus ] || features=(--features "$e")
  rm -rf "${target:?}/$e"
  if ! { time CARGO_TARGET_DIR="$target/$e" cargo build --release -q --manifest-path "$manifest" \
    --bin "bench-$e" "${features[@]}" 2>"$work/cargo-$e.log"; } 2>"$work/time-$e"; then
    cat "$work/cargo-$e.log" >&2
    echo "engines.sh: the build of bench-$e failed" >&2
    exit 2
  fi
  read -r real user sys <"$work/time-$e"
  compile_s[$e]=$real
  compile_cpu[$e]=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
  strip -o "$work/bin/bench-$e" "$target/$e/release/bench-$e"
  size[$e]=$(stat -c %s "$work/bin/bench-$e")
  unstripped[$e]=$(stat -c %s "$target/$e/release/bench-$e")
done

echo
echo "clean release build of one binary (cargo build --release, $(nproc) jobs, not niced; sources fetched before)"
printf '%-14s %10s %10s %14s\n' binary wall_s cpu_s "minus_corpus_s"
for e in corpus "${engines[@]}"; do
  printf '%-14s %10s %10s %14s\n' "bench-$e" "${compile_s[$e]}" "${compile_cpu[$e]}" \
    "$(awk -v a="${compile_s[$e]}" -v b="${compile_s[corpus]}" 'BEGIN { printf "%.1f", a - b }')"
done

echo
echo "binary size (release profile of orch; bytes)"
printf '%-14s %12s %10s %12s %16s\n' binary stripped MiB unstripped "stripped-corpus"
for e in corpus "${engines[@]}"; do
  printf '%-14s %12s %10s %12s %16s\n' "bench-$e" "${size[$e]}" "$(mib "${size[$e]}")" \
    "${unstripped[$e]}" "$((size[$e] - size[corpus]))"
done

# --- the corpus -----------------------------------------------------------------------------
corpus=$work/corpus
rm -rf "$corpus"
mkdir -p "$corpus/.orchestration"
cp -a "$repo/.orchestration/tasks" "$corpus/.orchestration/"
echo
echo "corpus: copy of $repo/.orchestration/tasks at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')" \
  "($(find "$corpus/.orchestration/tasks" -type f | wc -l) files, $(du -sb "$corpus/.orchestration/tasks" | cut -f1) bytes)"
"$work/bin/bench-corpus" stats "$corpus"
"$work/bin/bench-corpus" words "$corpus" 200 >"$work/words"
common_docs=$(sort -k2,2nr -k1,1 "$work/words" | head -1 | cut -d' ' -f1)
common_occ=$(sort -k3,3nr -k1,1 "$work/words" | head -1 | cut -d' ' -f1)
echo "most common words (word, documents, occurrences):" \
  "$(sort -k2,2nr -k1,1 "$work/words" | head -1)," "$(sort -k3,3nr -k1,1 "$work/words" | head -1)"

# --- index build ----------------------------------------------------------------------------
declare -A build index_bytes
for e in "${engines[@]}"; do
  for _ in 1 2 3; do
    "$work/bin/bench-$e" build "$corpus" "$work/index-$e"
  done >"$work/build-$e"
  index_bytes[$e]=$(du -sb "$work/index-$e" | cut -f1)
done
field() { kv "$2" <"$work/build-$1" | median; }

echo
echo "index build from nothing (median of 3 builds, each column on its own; ms)"
printf '%-10s %8s %10s %10s %10s %10s %10s %9s\n' \
  engine docs read_docs index optimize "index+opt" total segments
for e in "${engines[@]}"; do
  docs=$(field "$e" docs)
  if [ "$e" = fts5 ]; then
    idx=$(field "$e" insert_ms) opt=$(field "$e" optimize_ms) seg=-
  else
    idx=$(field "$e" build_ms) opt=- seg=$(field "$e" segments)
  fi
  printf '%-10s %8s %10s %10s %10s %10s %10s %9s\n' "$e" "$docs" "$(field "$e" extract_ms)" \
    "$idx" "$opt" "$(field "$e" build_ms)" "$(field "$e" total_ms)" "$seg"
done
[ "$(field tantivy docs)" = "$(field fts5 docs)" ] || { echo "DOCUMENT COUNTS DIFFER"; fail=1; }
echo "(read_docs: walk and extract; index: add + commit, for tantivy with its merges; fts5 index is"
echo " without 'optimize', index+opt with it; total = read_docs + index+opt)"

echo
echo "index size on disk (du -sb, after the last build)"
printf '%-26s %12s %8s %10s\n' index bytes MiB bytes/doc
docs=$(field tantivy docs)
for e in "${engines[@]}"; do
  printf '%-26s %12s %8s %10s\n' "$e" "${index_bytes[$e]}" "$(mib "${index_bytes[$e]}")" \
    "$((index_bytes[$e] / docs))"
done
before=$(kv bytes_before_optimize <"$work/build-fts5" | tail -1)
printf '%-26s %12s %8s %10s\n' "fts5 before optimize" "$before" "$(mib "$before")" "$((before / docs))"

# --- queries --------------------------------------------------------------------------------
# query for the engines | the same text for rg -F -i
queries=("omega|omega" "\"zeta commit\"|zeta commit" "pars*|pars" "$common_docs|$common_docs")
[ "$common_occ" = "$common_docs" ] || queries+=("$common_occ|$common_occ")
declare -A line e2e rg_ms rg_lines
for pair in "${queries[@]}"; do
  q=${pair%%|*} r=${pair#*|}
  for e in "${engines[@]}"; do
    line[$e$q]=$("$work/bin/bench-$e" query "$work/index-$e" "$q" --runs "$runs")
    e2e[$e$q]=$(wall "$e" 5 1 -- "$work/bin/bench-$e" query "$work/index-$e" "$q" --runs 1)
  done
  rg_ms[$q]=$(cd "$corpus" && wall rg "$runs" 2 -- rg -F -i -c "$r" .orchestration/tasks)
  rg_lines[$q]=$(cd "$corpus" && { rg -F -i -c -I "$r" .orchestration/tasks || true; } |
    awk '{ n += $1 } END { print n + 0 }')
done
get() { kv "$3" <<<"${line[$1$2]}"; }
label() {
  case $1 in
    "$common_docs") echo "$1 (most docs)" ;;
    "$common_occ") echo "$1 (most uses)" ;;
    *) echo "$1" ;;
  esac
}

echo
echo "ranked top 10 in the process: BM25, title 2x, stored fields read (ms over $runs runs; index open)"
printf '%-22s %11s %11s %11s %11s %11s\n' query tantivy_med tantivy_min fts5_med fts5_min fts5/tantivy
for pair in "${queries[@]}"; do
  q=${pair%%|*}
  t=$(get tantivy "$q" top_median_ms) f=$(get fts5 "$q" top_median_ms)
  printf '%-22s %11s %11s %11s %11s %11s\n' "$(label "$q")" "$t" "$(get tantivy "$q" top_min_ms)" \
    "$f" "$(get fts5 "$q" top_min_ms)" "$(ratio "$f" "$t")"
done

echo
echo "hit count in the process (ms, median of $runs) and the first top 10 of the process (ms)"
printf '%-22s %13s %13s %13s %13s\n' query tantivy_count fts5_count tantivy_first fts5_first
for pair in "${queries[@]}"; do
  q=${pair%%|*}
  printf '%-22s %13s %13s %13s %13s\n' "$(label "$q")" "$(get tantivy "$q" count_median_ms)" \
    "$(get fts5 "$q" count_median_ms)" "$(get tantivy "$q" top_first_ms)" "$(get fts5 "$q" top_first_ms)"
done

floor=$(wall true 5 1 -- /bin/true)
echo
echo "end to end, one process per query: start, open, top 10, hit count, exit (ms, median of 5;"
echo " the timer's floor, /bin/true, is $floor ms here; open is inside the process)"
printf '%-22s %10s %10s %12s %13s %10s\n' query tantivy fts5 fts5/tantivy tantivy_open fts5_open
for pair in "${queries[@]}"; do
  q=${pair%%|*}
  printf '%-22s %10s %10s %12s %13s %10s\n' "$(label "$q")" "${e2e[tantivy$q]}" "${e2e[fts5$q]}" \
    "$(ratio "${e2e[fts5$q]}" "${e2e[tantivy$q]}")" "$(get tantivy "$q" open_ms)" "$(get fts5 "$q" open_ms)"
done

echo
echo "rg -F -i -c TEXT .orchestration/tasks on the same files (ms, median of $runs; matching lines)"
printf '%-22s %-14s %10s %10s %14s %12s\n' query text rg_ms lines "tantivy_e2e/rg" "fts5_e2e/rg"
for pair in "${queries[@]}"; do
  q=${pair%%|*} r=${pair#*|}
  printf '%-22s %-14s %10s %10s %14s %12s\n' "$(label "$q")" "$r" "${rg_ms[$q]}" "${rg_lines[$q]}" \
    "$(ratio "${e2e[tantivy$q]}" "${rg_ms[$q]}" %.3f)" "$(ratio "${e2e[fts5$q]}" "${rg_ms[$q]}" %.3f)"
done

echo
echo "agreement: documents that match, and how many of the top 10 both engines return"
printf '%-22s %12s %12s %8s %14s\n' query tantivy_hits fts5_hits same top10_shared
for pair in "${queries[@]}"; do
  q=${pair%%|*}
  th=$(get tantivy "$q" hits) fh=$(get fts5 "$q" hits)
  same=yes
  [ "$th" = "$fh" ] || { same=NO; fail=1; }
  shared=$(comm -12 <(get tantivy "$q" top | tr , '\n' | sort) <(get fts5 "$q" top | tr , '\n' | sort) | wc -l)
  printf '%-22s %12s %12s %8s %14s\n' "$(label "$q")" "$th" "$fh" "$same" "$shared/10"
done
echo "(the rankings differ by design: tantivy sums BM25 per field, FTS5 scores the whole row with"
echo " weighted term counts; ties, common here, are broken by each engine's own order)"
echo "load $(cut -d' ' -f1-3 /proc/loadavg) at end"
exit $fail
