#!/usr/bin/env bash
# exir yara -r vs yara -r: same rules (every .yar of the shared corpus, one namespace per file, LOKI externals
# declared), same tree (the web-shell corpus copied COPIES times into a temp dir). Prints both times, the ratio
# and whether both tools reported the same (file, rule) pairs.
#
#   bench/yara/run.sh                 # builds exir (Release) into a temp folder first
#   EXIR=/path/to/exir bench/yara/run.sh
#   COPIES=50 RUNS=5 bench/yara/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
COPIES=${COPIES:-20}
RUNS=${RUNS:-3}
YARA=${YARA:-$(command -v yara || true)}
[ -n "$YARA" ] || { echo "yara not found (apt-get install yara)" >&2; exit 2; }
[ -d "$CORPUS/webshells" ] && [ -d "$CORPUS/yara-rules" ] || { echo "corpus not found at $CORPUS" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/exir-bench-yara.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ -z "${EXIR:-}" ]; then
  echo "building exir (Release)..." >&2
  dotnet build "$ROOT/src/Exir.Cli" -c Release --artifacts-path "$WORK/art" -v q -nologo >&2
  EXIR="$WORK/art/bin/Exir.Cli/release/exir"
fi

TREE="$WORK/tree"
mkdir -p "$TREE"
for i in $(seq 1 "$COPIES"); do cp -r "$CORPUS/webshells" "$TREE/copy$i"; done
BYTES=$(du -sb "$TREE" | cut -f1)
FILES=$(find "$TREE" -type f | wc -l)

mapfile -t RULES < <(find "$CORPUS/yara-rules" -name '*.yar' | sort)
YARGS=()
i=0
for f in "${RULES[@]}"; do YARGS+=("ns$i:$f"); i=$((i+1)); done

now() { date +%s.%N; }
best_of() { # best_of OUTFILE cmd...: runs the command RUNS times (after one warm-up), prints the best wall time
  local out=$1; shift
  "$@" > "$out" 2>/dev/null
  local best=""
  for _ in $(seq 1 "$RUNS"); do
    local t0 t1 dt
    t0=$(now); "$@" > "$out" 2>/dev/null; t1=$(now)
    dt=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$dt < $best" | bc -l)" = 1 ]; then best=$dt; fi
  done
  echo "$best"
}

echo "tree: $FILES files, $((BYTES / 1048576)) MiB ($COPIES copies of the web-shell corpus); rules: ${#RULES[@]} files; best of $RUNS runs"
T_YARA=$(best_of "$WORK/yara.out" "$YARA" -w -r -d filename= -d filepath= -d extension= -d filetype= -d owner= "${YARGS[@]}" "$TREE")
T_EXIR=$(best_of "$WORK/exir.out" "$EXIR" yara -r "${RULES[@]}" "$TREE")

sort "$WORK/yara.out" > "$WORK/yara.sorted"
sort "$WORK/exir.out" > "$WORK/exir.sorted"
if cmp -s "$WORK/yara.sorted" "$WORK/exir.sorted"; then SAME="yes ($(wc -l < "$WORK/yara.sorted") matches)"; else
  SAME="no: $(comm -23 "$WORK/yara.sorted" "$WORK/exir.sorted" | wc -l) only yara, $(comm -13 "$WORK/yara.sorted" "$WORK/exir.sorted" | wc -l) only exir"
fi
printf 'yara -r       %8.2f s\n' "$T_YARA"
printf 'exir yara -r  %8.2f s\n' "$T_EXIR"
printf 'ratio yara/exir: %.2f (above 1: exir is faster)\n' "$(echo "$T_YARA / $T_EXIR" | bc -l)"
echo "same (rule, file) lines: $SAME"
