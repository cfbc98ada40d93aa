#!/usr/bin/env bash
# exir yara -r vs yara -r on big files: a few GB of large binaries (system libraries concatenated, a corpus web shell
# planted past 256 MiB, with bench/yara/big.yar's markers), random bytes (what compressed or encrypted files look like) and a sparse 2047 MiB file with a
# string near its end. Runs both tools alternating (RUNS pairs), prints wall, CPU (user + system) and peak RSS
# (/usr/bin/time -v) of each run, the median ratios, and checks that both report the same (rule, file) lines.
#
#   bench/yara/big.sh                         # builds exir (Release) into a temp folder first
#   EXIR=/path/to/exir RUNS=5 RANDOM_MB=900 BIN_MB=400 bench/yara/big.sh
#   RULES_DIR=rules/yara bench/yara/big.sh    # the team's own rules (default: the corpus rule set)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
RUNS=${RUNS:-3}
RANDOM_MB=${RANDOM_MB:-900}
BIN_MB=${BIN_MB:-400}
BIN_FILES=${BIN_FILES:-3}
RULES_DIR=${RULES_DIR:-$CORPUS/yara-rules}
[ -d "$RULES_DIR" ] || { echo "rules not found ($RULES_DIR)" >&2; exit 2; }

. "$ROOT/bench/yara/common.sh" exir-bench-yarabig

TREE="$WORK/tree"
mkdir -p "$TREE"
echo "generating the tree..." >&2
MARK=EXIR_BENCH_PLANTED_MARKER
head -c "$((RANDOM_MB << 20))" /dev/urandom > "$TREE/random.bin"
printf '%s' "$MARK" | dd of="$TREE/random.bin" bs=1 seek=$(((RANDOM_MB << 20) - 4096)) conv=notrunc status=none
# Large binaries: shared libraries end to end (real code, tables and strings), then a web shell from the corpus
# and the bench's marker past 256 MiB, and "EXIR" as the last 4 bytes, so a tool that stops early misses them.
mapfile -t LIBS < <(find /usr/lib/x86_64-linux-gnu /usr/lib /usr/share/dotnet -maxdepth 4 -type f \( -name '*.so*' -o -name '*.dll' \) -size +100k 2>/dev/null | sort)
mapfile -t RULES < <(find "$RULES_DIR" -name '*.yar' | sort)
RULES+=("$ROOT/bench/yara/big.yar")
YARGS=()
i=0
for f in "${RULES[@]}"; do YARGS+=("ns$i:$f"); i=$((i+1)); done
DEFS=(-d filename= -d filepath= -d extension= -d filetype= -d owner=)
# A corpus web shell that the rules find on its own (the first yara reports), if the corpus is there.
SHELL_SAMPLE=$([ -d "$CORPUS/webshells" ] && "$YARA" -w -r "${DEFS[@]}" "${YARGS[@]}" "$CORPUS/webshells" 2>/dev/null | head -1 | cut -d' ' -f2- || true)
for n in $(seq 1 "$BIN_FILES"); do
  out="$TREE/large$n.bin"
  for lib in "${LIBS[@]}"; do
    cat "$lib" >> "$out"
    [ "$(stat -c %s "$out")" -ge "$((BIN_MB << 20))" ] && break
  done
  truncate -s "$((BIN_MB << 20))" "$out"
  if [ -n "$SHELL_SAMPLE" ]; then cat "$SHELL_SAMPLE" >> "$out"; fi
  printf '%s EXIR' "$MARK" >> "$out"
  LIBS=("${LIBS[@]:7}" "${LIBS[@]:0:7}")   # each file starts elsewhere
done
# Sparse: 2047 MiB of holes (no disk; just under exir's 2 GiB per-file limit), a web shell and the marker near the end.
truncate -s 2047M "$TREE/sparse.bin"
if [ -n "$SHELL_SAMPLE" ]; then dd if="$SHELL_SAMPLE" of="$TREE/sparse.bin" bs=1M seek=2046 conv=notrunc status=none; fi
printf '%s' "$MARK" | dd of="$TREE/sparse.bin" bs=1 seek=$(((2047 << 20) - 8192)) conv=notrunc status=none
BYTES=$(find "$TREE" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}')
FILES=$(find "$TREE" -type f | wc -l)

# timed NAME OUT cmd...: one run under /usr/bin/time -v; appends "wall cpu rss_mib" to $WORK/NAME.times.
timed() {
  local name=$1 out=$2; shift 2
  local t="$WORK/time.txt"
  # exir exits 1 when something matched (the CLI contract); yara exits 0: neither is a failure here.
  /usr/bin/time -v -o "$t" "$@" > "$out" 2>/dev/null || true
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
    /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { r = $2 }
    END { printf "%.2f %.2f %.0f\n", w, u + s, r / 1024 }' "$t" >> "$WORK/$name.times"
}

echo "tree: $FILES files, $((BYTES >> 20)) MiB apparent (random ${RANDOM_MB} MiB, ${BIN_FILES} x ${BIN_MB} MiB binaries, 2047 MiB sparse); rules: ${#RULES[@]} files; $RUNS alternating pairs"
for r in $(seq 1 "$RUNS"); do
  timed yara "$WORK/yara.out" "$YARA" -w -r "${DEFS[@]}" "${YARGS[@]}" "$TREE"
  timed exir "$WORK/exir.out" "$EXIR" yara -w -r --no-progress "${RULES[@]}" "$TREE"
done

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
printf '%-6s %-28s %-28s %s\n' tool "wall s (runs)" "cpu s (runs)" "peak RSS MiB (runs)"
for tool in yara exir; do
  printf '%-6s %-28s %-28s %s\n' "$tool" "$(cut -d' ' -f1 "$WORK/$tool.times" | tr '\n' ' ')" \
    "$(cut -d' ' -f2 "$WORK/$tool.times" | tr '\n' ' ')" "$(cut -d' ' -f3 "$WORK/$tool.times" | tr '\n' ' ')"
done
for k in 1 2 3; do
  y=$(cut -d' ' -f$k "$WORK/yara.times" | median); e=$(cut -d' ' -f$k "$WORK/exir.times" | median)
  printf '%s median: yara %s, exir %s, exir/yara %.2f\n' "$(echo wall cpu rss | cut -d' ' -f$k)" "$y" "$e" "$(echo "$e / $y" | bc -l)"
done

# yara prints "RULE PATH"; exir yara the same. Compare the (rule, file) sets.
sort -u "$WORK/yara.out" > "$WORK/y.sorted"
sort -u "$WORK/exir.out" > "$WORK/e.sorted"
if cmp -s "$WORK/y.sorted" "$WORK/e.sorted"; then
  echo "same matches: $(wc -l < "$WORK/y.sorted") (rule, file) lines"
else
  echo "DIFFERENT matches (yara $(wc -l < "$WORK/y.sorted"), exir $(wc -l < "$WORK/e.sorted")):"
  diff "$WORK/y.sorted" "$WORK/e.sorted" | head -20
  exit 1
fi
