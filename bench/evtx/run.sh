#!/usr/bin/env bash
# EVTX parse throughput: exir (Exir.Evtx, release build) vs evtxexport (libevtx) vs python-evtx.
#
#   bench/evtx/run.sh [VOLUME_MB] [PYTHON_MB]
#
# Builds a large valid EVTX from the healthy chunks of the DEV corpus (make-volume.py; chunks are
# self-contained, so this is the shape of a busy Security.evtx), then renders every record with
# each tool to /dev/null: exir as JSON lines (what `exir evtx --format jsonl` does), evtxexport as
# XML, python-evtx's evtx_dump.py as XML (on a smaller volume: it is slow). Prints MB/s (file bytes
# per wall-clock second), CPU seconds, peak memory and the ratios. Set EXIR=/path/to/exir to also
# time the real CLI, and EXIR_BEFORE=/path/to/older/exir to time an older build in the same run
# (alternating with EXIR, same files, outputs compared byte for byte). The machine's load average is printed because the figures depend on it: on a
# shared machine compare CPU seconds, which other jobs disturb less than wall time.
# The harness is built like the exir app, with tiered PGO off (see EvtxBench.csproj).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
corpus="${EXIR_EVTX_CORPUS:-$repo/../shared/corpus/evtx}"
volume_mb="${1:-128}"
python_mb="${2:-4}"
work="${TMPDIR:-/tmp}/exir-bench-evtx"
mkdir -p "$work"

echo "building the harness (Release)..." >&2
dotnet build -c Release "$here/EvtxBench.csproj" --artifacts-path "$work/art" -v q -nologo >/dev/null
harness="$work/art/bin/EvtxBench/release/EvtxBench"

# libevtx cannot read CAPI2's nested BinXML or template-less records: leave those files out so that
# every tool parses the same records.
skip=(CAPI2 MSExchange_Management_wec Defender)
python3 "$here/make-volume.py" "$corpus" "$work/volume.evtx" "$volume_mb" "${skip[@]}" >&2
python3 "$here/make-volume.py" "$corpus" "$work/volume-small.evtx" "$python_mb" "${skip[@]}" >&2

# measure NAME FILE CMD...: wall seconds, CPU seconds and peak RSS of CMD, output to /dev/null
measure() {
  local name="$1" file="$2"; shift 2
  /usr/bin/time -o "$work/time.txt" -f '%e %U %S %M' "$@" >/dev/null 2>"$work/$name.stderr" || true
  read -r wall user sys rss < <(tail -1 "$work/time.txt")
  local bytes mbs
  bytes=$(stat -c %s "$file")
  mbs=$(awk -v b="$bytes" -v w="$wall" 'BEGIN { printf "%.3f", b / 1e6 / (w > 0 ? w : 0.001) }')
  printf '%-28s %8.1f MB %8.2f s %8.2f cpu-s %8.1f MB/s %7d MiB\n' "$name" "$(awk -v b="$bytes" 'BEGIN{print b/1e6}')" "$wall" \
    "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$mbs" $((rss / 1024))
  echo "$mbs" >"$work/$name.mbs"
  awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}' >"$work/$name.cpu"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc)"
"$harness" --format jsonl "$work/volume-small.evtx" >/dev/null   # warm the disk cache
measure exir-jsonl "$work/volume.evtx" "$harness" --format jsonl "$work/volume.evtx"
measure exir-xml "$work/volume.evtx" "$harness" --format xml "$work/volume.evtx"
# Tiered PGO instruments and re-JITs the hot paths of a short batch run, which cost a fifth to a third
# of exir's CPU here: the app and the harness turn it off. The same run with it on, for comparison:
DOTNET_TieredPGO=1 measure exir-jsonl-pgo-on "$work/volume.evtx" "$harness" --format jsonl "$work/volume.evtx"
if [[ -n "${EXIR:-}" ]]; then
  for round in 1 2; do
    if [[ -n "${EXIR_BEFORE:-}" ]]; then measure "exir-before-cli-jsonl-$round" "$work/volume.evtx" "$EXIR_BEFORE" evtx --format jsonl --no-progress "$work/volume.evtx"; fi
    measure "exir-cli-jsonl-$round" "$work/volume.evtx" "$EXIR" evtx --format jsonl --no-progress "$work/volume.evtx"
  done
  if [[ -n "${EXIR_BEFORE:-}" ]]; then
    same=yes
    for f in jsonl xml; do
      cmp -s <("$EXIR_BEFORE" evtx --format $f --no-progress "$work/volume.evtx" 2>&1) \
             <("$EXIR" evtx --format $f --no-progress "$work/volume.evtx" 2>&1) || same=no
    done
    echo "one big file, EXIR and EXIR_BEFORE write the same bytes (xml, jsonl, stderr): $same"
  fi
fi
measure evtxexport-xml "$work/volume.evtx" evtxexport -f xml "$work/volume.evtx"
measure exir-jsonl-small "$work/volume-small.evtx" "$harness" --format jsonl "$work/volume-small.evtx"
measure python-evtx-small "$work/volume-small.evtx" /usr/bin/python3 /usr/bin/evtx_dump.py "$work/volume-small.evtx"

ratio() { awk -v a="$(cat "$work/$1.mbs")" -v b="$(cat "$work/$2.mbs")" 'BEGIN { printf "%.1fx", a / b }'; }
echo "exir jsonl vs evtxexport:  $(ratio exir-jsonl evtxexport-xml)   (target >= 20x)"
echo "exir xml   vs evtxexport:  $(ratio exir-xml evtxexport-xml)"
echo "exir jsonl (tiered PGO on) vs evtxexport: $(ratio exir-jsonl-pgo-on evtxexport-xml)"
echo "exir jsonl vs python-evtx: $(ratio exir-jsonl python-evtx-small)   (throughput on the large volume vs python-evtx on the small one)"
cpu_ratio() { awk -v a="$(cat "$work/$1.cpu")" -v b="$(cat "$work/$2.cpu")" 'BEGIN { printf "%.1fx", b / a }'; }
echo "CPU time, evtxexport / exir: jsonl $(cpu_ratio exir-jsonl evtxexport-xml), xml $(cpu_ratio exir-xml evtxexport-xml) (jsonl with tiered PGO on: $(cpu_ratio exir-jsonl-pgo-on evtxexport-xml)); wall figures depend on the load above"
cores() { awk -v c="$(cat "$work/$1.cpu")" -v m="$(cat "$work/$1.mbs")" -v b="$(stat -c %s "$work/volume.evtx")" 'BEGIN { printf "%.2f", c / (b / 1e6 / m) }'; }
echo "cores busy (CPU s / wall s): exir jsonl $(cores exir-jsonl), exir xml $(cores exir-xml)"
echo "exir jsonl, 2 x MB per CPU second (the ceiling on 2 idle cores): $(awk -v c="$(cat "$work/exir-jsonl.cpu")" -v b="$(stat -c %s "$work/volume.evtx")" 'BEGIN { printf "%.0f", 2 * b / 1e6 / c }') MB/s"
echo "exir jsonl: $(cat "$work/exir-jsonl.mbs") MB/s   (target >= 100 MB/s on 2 cores)"
if [[ -n "${EXIR:-}" ]]; then
  for round in 1 2; do
    echo "one big file, exir evtx --format jsonl round $round: $(cat "$work/exir-cli-jsonl-$round.mbs") MB/s, $(cores "exir-cli-jsonl-$round") cores busy (target >= 150 MB/s on 2 cores)"
    if [[ -n "${EXIR_BEFORE:-}" ]]; then
      echo "  before: $(cat "$work/exir-before-cli-jsonl-$round.mbs") MB/s, $(cores "exir-before-cli-jsonl-$round") cores busy"
    fi
  done
fi

# Many small files in one call (exir evtx FILE..., one read-ahead window across files) against evtxexport
# file by file, on COPIES copies of the corpus files libevtx reads. Needs EXIR=/path/to/exir.
if [[ -n "${EXIR:-}" ]]; then
  many="$work/many"
  rm -rf "$many" && mkdir -p "$many"
  mapfile -t corpus_files < <(find "$corpus" -name '*.evtx' | grep -v -e CAPI2 -e MSExchange_Management_wec -e Defender)
  for ((c = 0; c < ${COPIES:-5}; c++)); do
    for i in "${!corpus_files[@]}"; do cp "${corpus_files[$i]}" "$many/$c-$i.evtx"; done
  done
  files=("$many"/*.evtx)
  bytes=$(cat "${files[@]}" | wc -c)
  timed() { # NAME CMD...: wall and CPU seconds of CMD, output to /dev/null
    local name="$1"; shift
    /usr/bin/time -o "$work/time.txt" -f '%e %U %S %M' "$@" >/dev/null 2>/dev/null || true
    read -r wall user sys rss < <(tail -1 "$work/time.txt")
    printf '%-28s %5d files %8.1f MB %8.2f s %8.2f cpu-s %7d MiB\n' "$name" "${#files[@]}" "$(awk -v b="$bytes" 'BEGIN{print b/1e6}')" \
      "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" $((rss / 1024))
    echo "$wall" >"$work/$name.wall"
  }
  for round in 1 2; do
    if [[ -n "${EXIR_BEFORE:-}" ]]; then timed "exir-before-many-jsonl-$round" "$EXIR_BEFORE" evtx --format jsonl --no-progress "${files[@]}"; fi
    timed "exir-many-jsonl-$round" "$EXIR" evtx --format jsonl --no-progress "${files[@]}"
  done
  timed evtxexport-many-xml bash -c 'for f in "$@"; do evtxexport -f xml "$f"; done' _ "${files[@]}"
  vs_evtxexport() { awk -v a="$(cat "$work/$1.wall")" -v b="$(cat "$work/evtxexport-many-xml.wall")" 'BEGIN { printf "%.1fx", b / a }'; }
  for round in 1 2; do
    echo "many files round $round, exir in one call vs evtxexport file by file: $(vs_evtxexport "exir-many-jsonl-$round") (target >= 20x)" \
      "${EXIR_BEFORE:+; before: $(vs_evtxexport "exir-before-many-jsonl-$round")}"
  done
  rm -rf "$many"
fi
