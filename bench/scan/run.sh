#!/usr/bin/env bash
# Times `exir scan` against ripgrep over the same synthetic log collection and prints throughput,
# the ratio and peak memory. Usage: bench/scan/run.sh [GB]   (default 2; data in $EXIR_BENCH_DIR or /tmp/exir-bench)
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

echo "building exir (Release)" >&2
dotnet build "$repo/src/Exir.Cli" -c Release --artifacts-path "$dir/art" -nologo -v q >"$dir/build.log" 2>&1 || { tail -20 "$dir/build.log"; exit 1; }
exir="$dir/art/bin/Exir.Cli/release/exir"

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

# Warm the page cache so both tools read from memory, then take the best of two runs each.
find "$col" -type f -exec cat {} + >/dev/null
run() { # name, command...   prints: best wall seconds, its CPU seconds (user+sys), peak RSS KB
  local name=$1; shift
  local best="" cpu="" rss=""
  for i in 1 2; do
    /usr/bin/time -v "$@" >"$dir/$name.out" 2>"$dir/$name.time" || true
    local s; s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); t=0; for(i=1;i<=n;i++) t=t*60+a[i]; print t}' "$dir/$name.time")
    local c; c=$(awk -F': ' '/User time|System time/ {t+=$2} END {print t}' "$dir/$name.time")
    local r; r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/$name.time")
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $s < $best else 1)"; then best=$s; cpu=$c; rss=$r; fi
  done
  echo "$best $cpu $rss"
}
read -r rg_s rg_cpu rg_rss < <(run rg rg -i -F -c -uuu "${rgargs[@]}" "$col")
read -r ex_s ex_cpu ex_rss < <(run exir "$exir" scan "$col" --format jsonl)

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (wall times on a shared machine are noisy; CPU seconds less so)"
python3 - "$mb" "$rg_s" "$rg_rss" "$ex_s" "$ex_rss" "$dir/exir.out" "$col.expected.tsv" "$rg_cpu" "$ex_cpu" <<'PY'
import sys, json
mb, rg_s, rg_rss, ex_s, ex_rss = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
rg_cpu, ex_cpu = float(sys.argv[8]), float(sys.argv[9])
found = set()
n = 0
for line in open(sys.argv[6]):
    try: f = json.loads(line)
    except ValueError: continue
    n += 1
    found.add((f.get("artifact"), f.get("line"), f.get("rule_id")))
expected = [l.rstrip("\n").split("\t") for l in open(sys.argv[7]) if l.strip()]
missing = [e for e in expected if (e[0], int(e[1]), e[2]) not in found]
print(f"ripgrep : {rg_s:7.2f} s wall {mb/rg_s:7.0f} MB/s | {rg_cpu:6.2f} CPU-s {mb/rg_cpu:6.0f} MB/CPU-s | peak RSS {rg_rss/1024:5.0f} MB")
print(f"exir    : {ex_s:7.2f} s wall {mb/ex_s:7.0f} MB/s | {ex_cpu:6.2f} CPU-s {mb/ex_cpu:6.0f} MB/CPU-s | peak RSS {ex_rss/1024:5.0f} MB  ({n} findings)")
print(f"ratio   : exir/ripgrep throughput {rg_s/ex_s:.2f}x by wall time, {rg_cpu/ex_cpu:.2f}x by CPU time; "
      f"{mb/ex_s/17.5:.0f}x Test-ProxyLogon.ps1 (~15-20 MB/s)")
print(f"planted : {len(expected) - len(missing)}/{len(expected)} known attack lines reported" + ("" if not missing else f"; MISSING {missing[:5]}"))
PY
