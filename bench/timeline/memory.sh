#!/usr/bin/env bash
# Timeline memory and time against the input size: exir timeline over N copies of one EVTX volume.
#
#   bench/timeline/memory.sh VOLUMES [BASE_EXIR]
#   EXIR=/path/to/exir bench/timeline/memory.sh VOLUMES   # time a given file instead of a fresh build
#
# Builds one 128 MB EVTX volume from the healthy chunks of the corpus (bench/evtx/make-volume.py) and
# hard-links it VOLUMES times (other paths, so every row is distinct; no extra disk), then runs
# `exir timeline --out` over them and prints wall, CPU, peak RSS, MB/s and the row count. With
# BASE_EXIR (another build, e.g. of the previous commit), both run alternately in the same script
# and the outputs are compared, sorted (files are read in parallel, so ties come in any order). Volumes of
# repeated chunks hold duplicate process starts, and which of them merge as Security/Sysmon twins depends on
# the read order: a few dozen rows may differ between two runs of one build too (compare exir with exir2). Work files live under /tmp/exir-bench-timeline and are removed; the
# build stays in /tmp/exir-bench-timeline-art for the next run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
corpus="${EXIR_EVTX_CORPUS:-$repo/../shared/corpus/evtx}"
volumes="${1:-8}"
base="${2:-}"
work="${TMPDIR:-/tmp}/exir-bench-timeline"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"

# EXIR=/path/to/exir times that file (e.g. the published single file) instead of a fresh build.
if [[ -n "${EXIR:-}" ]]; then
  exir=$EXIR
else
  echo "building exir (Release)..." >&2
  art="${TMPDIR:-/tmp}/exir-bench-timeline-art"
  dotnet build -c Release "$repo/src/Exir.Cli" --artifacts-path "$art" -v q -nologo >/dev/null
  exir="$art/bin/Exir.Cli/release/exir"
fi

python3 "$repo/bench/evtx/make-volume.py" "$corpus" "$work/volume.evtx" 128 >&2
for ((i = 0; i < volumes; i++)); do ln "$work/volume.evtx" "$work/in/v$i.evtx"; done
bytes=$(( $(stat -c %s "$work/volume.evtx") * volumes ))

# measure NAME EXIR: one timeline run, outputs in $work/NAME
measure() {
  local name="$1" bin="$2"
  rm -rf "$work/$name" && mkdir -p "$work/$name"
  /usr/bin/time -o "$work/time.txt" -f '%e %U %S %M' "$bin" timeline "$work/in" --out "$work/$name" --no-progress >/dev/null 2>"$work/$name.stderr" || true
  read -r wall user sys rss < <(tail -1 "$work/time.txt")
  local rows
  rows=$(wc -l <"$work/$name/timeline.jsonl")
  echo "$rss" >"$work/$name.rss"
  printf '%-6s %6.0f MB %8.1f s %8.1f cpu-s %7.1f MB/s %6d MiB peak RSS %9d rows\n' "$name" "$(awk -v b="$bytes" 'BEGIN{print b/1e6}')" \
    "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$(awk -v b="$bytes" -v w="$wall" 'BEGIN{print b/1e6/(w>0?w:1)}')" $((rss / 1024)) "$rows"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc), $volumes volumes"
measure exir "$exir"
if [[ -n "$base" ]]; then
  measure base "$base"
  measure exir2 "$exir"
  for f in timeline.jsonl timeline.csv; do
    if cmp -s <(sort "$work/exir/$f") <(sort "$work/base/$f"); then echo "$f: same rows as base"; else echo "$f: DIFFERS from base"; fi
  done
  echo "peak RSS, base / exir: $(awk -v a="$(cat "$work/base.rss")" -v b="$(cat "$work/exir.rss")" 'BEGIN { printf "%.2fx", a / b }')"
fi
rm -rf "$work/exir" "$work/base" "$work/exir2"
