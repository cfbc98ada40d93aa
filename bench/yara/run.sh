#!/usr/bin/env bash
# exir yara -r vs yara -r: same rules (every .yar of the shared corpus, one namespace per file, LOKI externals
# declared), same tree (the web-shell corpus copied COPIES times into a temp dir). Prints both times, the ratio
# and whether both tools reported the same (file, rule) pairs.
#
#   bench/yara/run.sh                 # builds exir (Release) into a temp folder first
#   EXIR=/path/to/exir bench/yara/run.sh
#   COPIES=50 RUNS=5 bench/yara/run.sh
#   RULES_DIR=rules/yara bench/yara/run.sh   # the team's own rules instead of the corpus rule set
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
COPIES=${COPIES:-20}
RUNS=${RUNS:-3}
RULES_DIR=${RULES_DIR:-$CORPUS/yara-rules}
[ -d "$CORPUS/webshells" ] && [ -d "$RULES_DIR" ] || { echo "corpus or rules not found ($CORPUS, $RULES_DIR)" >&2; exit 2; }

. "$ROOT/bench/yara/common.sh" exir-bench-yara

TREE="$WORK/tree"
mkdir -p "$TREE"
for i in $(seq 1 "$COPIES"); do cp -r "$CORPUS/webshells" "$TREE/copy$i"; done
BYTES=$(du -sb "$TREE" | cut -f1)
FILES=$(find "$TREE" -type f | wc -l)

mapfile -t RULES < <(find "$RULES_DIR" -name '*.yar' | sort)
YARGS=()
i=0
for f in "${RULES[@]}"; do YARGS+=("ns$i:$f"); i=$((i+1)); done

# best_of OUTFILE cmd...: one warm-up run, then RUNS timed runs; prints "best_wall best_cpu" in seconds
# (cpu = user + system of the process tree: steadier than wall time on a busy shared machine).
best_of() {
  local out=$1; shift
  # exir exits 1 when something matched (the CLI contract); yara exits 0: neither is a failure here.
  "$@" > "$out" 2>/dev/null || true
  local bw="" bc_="" t="$WORK/time.txt"
  for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "%e %U %S" -o "$t" "$@" > "$out" 2>/dev/null || true
    read -r wall user sys < <(tail -1 "$t")   # time adds a "Command exited with non-zero status" line first
    local cpu; cpu=$(echo "$user + $sys" | bc -l)
    if [ -z "$bw" ] || [ "$(echo "$wall < $bw" | bc -l)" = 1 ]; then bw=$wall; fi
    if [ -z "$bc_" ] || [ "$(echo "$cpu < $bc_" | bc -l)" = 1 ]; then bc_=$cpu; fi
  done
  echo "$bw $bc_"
}

echo "tree: $FILES files, $((BYTES / 1048576)) MiB ($COPIES copies of the web-shell corpus); rules: ${#RULES[@]} files; best of $RUNS runs"
read -r W_YARA C_YARA < <(best_of "$WORK/yara.out" "$YARA" -w -r -d filename= -d filepath= -d extension= -d filetype= -d owner= "${YARGS[@]}" "$TREE")
read -r W_EXIR C_EXIR < <(best_of "$WORK/exir.out" "$EXIR" yara -r "${RULES[@]}" "$TREE")

sort "$WORK/yara.out" > "$WORK/yara.sorted"
sort "$WORK/exir.out" > "$WORK/exir.sorted"
if cmp -s "$WORK/yara.sorted" "$WORK/exir.sorted"; then SAME="yes ($(wc -l < "$WORK/yara.sorted") matches)"; else
  SAME="no: $(comm -23 "$WORK/yara.sorted" "$WORK/exir.sorted" | wc -l) only yara, $(comm -13 "$WORK/yara.sorted" "$WORK/exir.sorted" | wc -l) only exir"
fi
printf '               wall      cpu (user+sys)\n'
printf 'yara -r       %6.2f s  %6.2f s\n' "$W_YARA" "$C_YARA"
printf 'exir yara -r  %6.2f s  %6.2f s\n' "$W_EXIR" "$C_EXIR"
printf 'ratio yara/exir: wall %.2f, cpu %.2f (above 1: exir is faster)\n' "$(echo "$W_YARA / $W_EXIR" | bc -l)" "$(echo "$C_YARA / $C_EXIR" | bc -l)"
echo "same (rule, file) lines: $SAME"
