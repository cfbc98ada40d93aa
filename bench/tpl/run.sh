#!/usr/bin/env bash
# exir scan against Microsoft's Test-ProxyLogon.ps1 (unchanged, under pwsh with the wrapper in
# ../shared/reference/css-exchange) on the same generated Exchange C: drive; also an empty-folder scan, exir's
# fixed cost, in the same rounds. Prints wall, CPU, peak RSS, the ratios with and without that fixed cost, and
# whether every line and file the script reported is among exir's findings.
#   [ROUNDS=3] [MB=200] [ATTACK_EVERY=12] bench/tpl/run.sh    data in $EXIR_BENCH_DIR/tpl (default /tmp/exir-bench/tpl)
# ATTACK_EVERY=N plants attack lines in one HttpProxy log in N: the script parses those whole (Import-Csv) and
# only searches the others, so N sets its speed (1: every log has them).
# EXIR_BASELINE=/path/to/exir adds another exir build to the same rounds (before/after a change).
#   bench/tpl/run.sh clean                        removes that data
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=${EXIR_BENCH_DIR:-/tmp/exir-bench}/tpl
if [ "${1:-}" = clean ]; then rm -rf "$dir"; echo "removed $dir"; exit 0; fi
MB=${MB:-200}
ATTACK_EVERY=${ATTACK_EVERY:-12}
ROUNDS=${ROUNDS:-3}
ref=$repo/../shared/reference/css-exchange
[ -f "$ref/Test-ProxyLogon.ps1" ] || { echo "Test-ProxyLogon.ps1 not found in $ref" >&2; exit 2; }
pwsh=${EXIR_PWSH:-$(command -v pwsh || echo "$HOME/.dotnet/tools/pwsh")}
[ -x "$pwsh" ] || { echo "pwsh not found: dotnet tool install --global PowerShell (or set EXIR_PWSH)" >&2; exit 2; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off NO_COLOR=1
root=$dir/tree-${MB}mb$([ "$ATTACK_EVERY" = 12 ] || echo "-a$ATTACK_EVERY")/C
mkdir -p "$dir/empty"

if [ ! -d "$root" ]; then
  echo "generating ${MB} MB into $root" >&2
  python3 "$repo/bench/tpl/gen.py" --mb "$MB" --attack-every "$ATTACK_EVERY" --out "$root" >&2
fi
source "$repo/bench/timed.sh"
exir_under_test   # EXIR=/path/to/exir to time a given file

bytes=$(du -sb "$root" | cut -f1)
echo "tree: $((bytes / 1000000)) MB, $(find "$root" -type f | wc -l) files; $(nproc) cores; pwsh $("$pwsh" -NoProfile -Command '$PSVersionTable.PSVersion.ToString()')" >&2
find "$root" -type f -exec cat {} + >/dev/null   # page cache warm: every run reads from memory

: >"$dir/rounds.txt"
names=(tpl exir empty); [ -n "${EXIR_BASELINE:-}" ] && names+=(baseline)
for ((r = 0; r < ROUNDS; r++)); do
  for ((k = 0; k < ${#names[@]}; k++)); do   # rotating order, so a shared machine's load falls on all alike
    case $(( (r + k) % ${#names[@]} )) in
      0) (cd "$dir" && timed tpl "$pwsh" -NoProfile -NonInteractive -File "$ref/Invoke-TestProxyLogonOnLinux.ps1" \
            -Script "$ref/Test-ProxyLogon.ps1" -Root "$root" -Json) ;;
      1) rm -rf "$dir/out"; timed exir "$exir" scan "$root" --out "$dir/out" --no-progress ;;
      2) rm -rf "$dir/out-empty"; timed empty "$exir" scan "$dir/empty" --out "$dir/out-empty" --no-progress ;;
      3) rm -rf "$dir/out-baseline"; timed baseline "$EXIR_BASELINE" scan "$root" --out "$dir/out-baseline" --no-progress ;;
    esac
  done
done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (wall times on a shared machine are noisy; CPU seconds less so)"
python3 - "$((bytes / 1000000))" "$dir/rounds.txt" <<'PY'
import sys, statistics as st
mb = float(sys.argv[1])
runs = {}
for line in open(sys.argv[2]):
    name, w, c, r = line.split()
    runs.setdefault(name, []).append((float(w), float(c), int(r)))
labels = {"tpl": "Test-ProxyLogon (pwsh)", "exir": "exir scan", "empty": "exir scan, empty folder", "baseline": "baseline exir scan"}
for name in [n for n in labels if n in runs]:
    w = st.median(x[0] for x in runs[name]); c = st.median(x[1] for x in runs[name]); r = max(x[2] for x in runs[name])
    print(f"{labels[name]:24}: {w:6.2f} s wall | {c:6.2f} CPU-s | peak RSS {r/1024:5.0f} MB" + ("" if name == "empty" else f" | {mb/w:6.0f} MB/s"))
rounds = list(zip(runs["tpl"], runs["exir"], runs["empty"]))
def ratio(i, fixed):   # median over rounds of the script's time over exir's (without exir's empty-folder cost if fixed)
    return st.median(t[i] / max(e[i] - (z[i] if fixed else 0), 1e-3) for t, e, z in rounds)
print(f"ratio   : Test-ProxyLogon/exir {ratio(0, False):.1f}x by wall, {ratio(1, False):.1f}x by CPU; without exir's fixed cost "
      f"(empty-folder scan of the same round subtracted) {ratio(0, True):.1f}x by wall, {ratio(1, True):.1f}x by CPU "
      f"(medians of {len(rounds)} paired rounds)")
if "baseline" in runs:
    print(f"baseline: exir/baseline CPU {st.median(e[1] / b[1] for e, b in zip(runs['exir'], runs['baseline'])):.2f}, without the fixed cost "
          f"{st.median((e[1] - z[1]) / max(b[1] - z[1], 1e-3) for e, b, z in zip(runs['exir'], runs['baseline'], runs['empty'])):.2f}")
PY
python3 "$repo/bench/tpl/check.py" "$dir/tpl.out" "$root" "$dir/out/findings.jsonl"
