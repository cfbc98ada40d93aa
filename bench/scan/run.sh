#!/usr/bin/env bash
# Times `exir scan` against ripgrep over the same synthetic log collection and prints throughput,
# the ratio and peak memory. Usage: [ROUNDS=5] bench/scan/run.sh [GB]   (default 2; data in $EXIR_BENCH_DIR or /tmp/exir-bench)
#
# ripgrep runs with the same literals exir's log rules use as their pre-filter (case-insensitive, fixed
# strings), so it does the part of the work both tools share: find the candidate lines. exir also parses
# the candidates by their #Fields header, evaluates the rules, builds coverage and writes findings.
set -euo pipefail
GB=${1:-2}
repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=${EXIR_BENCH_DIR:-/tmp/exir-bench}
col="$dir/collection-${GB}g"
mkdir -p "$dir"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ ! -d "$col" ]; then
  echo "generating ${GB} GB into $col" >&2
  python3 "$repo/bench/scan/gen.py" --gb "$GB" --out "$col" >&2
fi

source "$repo/bench/timed.sh"
exir_under_test   # EXIR=/path/to/exir to time a given file

literals=$(python3 - "$repo/rules/logs" <<'PY'
import sys, glob, yaml
lits = set()
for f in glob.glob(sys.argv[1] + "/*.yaml"):
    for r in (yaml.safe_load(open(f)) or {}).get("rules", []):
        lits.update(r.get("literals", []))
print("\n".join(sorted(lits)))
PY
)
rgargs=()
while IFS= read -r l; do rgargs+=(-e "$l"); done <<<"$literals"

bytes=$(du -sb "$col" | cut -f1)
mb=$(python3 -c "print($bytes/1e6)")
echo "collection: $(printf '%.0f' "$mb") MB, $(find "$col" -type f | wc -l) files; $(nproc) cores; literals: ${#rgargs[@]}/2" >&2

# Warm the page cache so all runs read from memory. Then rounds of ripgrep, exir and exir with the text
# pre-filter (the reference path: every line decoded before the search) in rotating order, so the load of a shared
# machine falls on all three alike; the figures are medians, the ratios medians of the per-round ratios.
find "$col" -type f -exec cat {} + >/dev/null
ROUNDS=${ROUNDS:-5}
: >"$dir/rounds.txt"
for ((r = 0; r < ROUNDS; r++)); do
  for k in 0 1 2; do
    case $(( (r + k) % 3 )) in
      0) timed rg rg -i -F -c -uuu "${rgargs[@]}" "$col" ;;
      1) timed exir "$exir" scan "$col" --format jsonl ;;
      2) EXIR_LOG_PREFILTER=text timed exir-text "$exir" scan "$col" --format jsonl ;;
    esac
  done
done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (wall times on a shared machine are noisy; CPU seconds less so)"
python3 - "$mb" "$dir/rounds.txt" "$dir/exir.out" "$dir/exir-text.out" "$col.expected.tsv" <<'PY2'
import sys, json, statistics as st
mb = float(sys.argv[1])
runs = {}
for line in open(sys.argv[2]):
    name, w, c, r = line.split()
    runs.setdefault(name, []).append((float(w), float(c), int(r)))
def found(path):
    s = set()
    for line in open(path):
        try: f = json.loads(line)
        except ValueError: continue
        s.add((f.get("artifact"), f.get("line"), f.get("rule_id")))
    return s
exir, text = found(sys.argv[3]), found(sys.argv[4])
for name in ("rg", "exir", "exir-text"):
    w = st.median(x[0] for x in runs[name]); c = st.median(x[1] for x in runs[name]); r = max(x[2] for x in runs[name])
    label = {"rg": "ripgrep", "exir": "exir", "exir-text": "exir, text pre-filter"}[name]
    print(f"{label:22}: {w:6.2f} s wall {mb/w:6.0f} MB/s | {c:6.2f} CPU-s {mb/c:6.0f} MB/CPU-s | peak RSS {r/1024:5.0f} MB")
def ratio(a, b, i):  # median over rounds of b/a (a's throughput relative to b's)
    return st.median(y[i] / x[i] for x, y in zip(runs[a], runs[b]))
print(f"ratio   : exir/ripgrep throughput {ratio('exir', 'rg', 0):.2f}x by wall, {ratio('exir', 'rg', 1):.2f}x by CPU "
      f"(medians of {len(runs['exir'])} paired rounds); byte/text pre-filter {ratio('exir', 'exir-text', 0):.2f}x wall, {ratio('exir', 'exir-text', 1):.2f}x CPU")
print(f"findings: {len(exir)} with the byte pre-filter, {len(text)} with the text one" + (", the same" if exir == text else f"; DIFFERENT: {sorted(exir ^ text)[:5]}"))
expected = [l.rstrip("\n").split("\t") for l in open(sys.argv[5]) if l.strip()]
missing = [e for e in expected if (e[0], int(e[1]), e[2]) not in exir]
print(f"planted : {len(expected) - len(missing)}/{len(expected)} known attack lines reported" + ("" if not missing else f"; MISSING {missing[:5]}"))
PY2
