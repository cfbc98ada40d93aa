#!/usr/bin/env bash
# Sigma hunt throughput: every SigmaHQ windows rule (../shared/corpus/sigmahq/rules/windows) over a large EVTX
# volume built from the healthy chunks of the EVTX corpus (bench/evtx/make-volume.py), through `exir hunt`.
# Prints MB/s and events/s, per wall second and per CPU second ("per core"), peak memory, and the ratio to
# Hayabusa's own published profile (about 5.7 MB/s with about 3,900 rules on 4 cores, i.e. ~1.4 MB/s per core).
#
#   bench/sigma/run.sh [VOLUME_MB]      (default 512)
#
# EXIR: the exir program (default: the Release build). On a shared machine compare CPU seconds: other jobs
# disturb them less than wall time. The work folder (TMPDIR/exir-bench-sigma) is removed at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
corpus="${EXIR_CORPUS:-$repo/../shared/corpus}"
volume_mb="${1:-512}"
EXIR=${EXIR:-$repo/src/Exir.Cli/bin/Release/net10.0/exir}
work="${TMPDIR:-/tmp}/exir-bench-sigma"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
[ -x "$EXIR" ] || { echo "build first: dotnet build exir.slnx -c Release (or set EXIR)" >&2; exit 2; }
rules="$corpus/sigmahq/rules/windows"
[ -d "$rules" ] || { echo "no SigmaHQ rules at $rules" >&2; exit 2; }

python3 "$repo/bench/evtx/make-volume.py" "$corpus/evtx" "$work/volume.evtx" "$volume_mb" >&2
bytes=$(stat -c %s "$work/volume.evtx")
events=$( { "$EXIR" evtx --format jsonl "$work/volume.evtx" 2>/dev/null || true; } | wc -l)
nrules=$(find "$rules" -name '*.yml' | wc -l)

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc); $nrules rule files; volume $((bytes / 1000000)) MB, $events events"
/usr/bin/time -o "$work/time.txt" -f '%e %U %S %M' "$EXIR" hunt "$work/volume.evtx" --no-builtin --sigma "$rules" \
  --format jsonl --no-progress >"$work/hits.jsonl" 2>"$work/stderr" || true
read -r wall user sys rss < <(tail -1 "$work/time.txt")
hits=$(wc -l <"$work/hits.jsonl")
grep -m1 'Sigma:' "$work/stderr" || true
awk -v b="$bytes" -v e="$events" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v h="$hits" 'BEGIN {
  cpu = u + s; if (w <= 0) w = 0.001; if (cpu <= 0) cpu = 0.001
  printf "exir hunt: %.1f s wall, %.1f cpu-s, %d MiB peak, %d hits\n", w, cpu, m / 1024, h
  printf "  %.1f MB/s wall, %.1f MB/s per core (per CPU second); %.0f events/s wall, %.0f events/s per core\n", b / 1e6 / w, b / 1e6 / cpu, e / w, e / cpu
  printf "  Hayabusa (its README): ~5.7 MB/s on 4 cores = ~1.43 MB/s per core; exir per core: %.1fx\n", (b / 1e6 / cpu) / 1.425
}'
