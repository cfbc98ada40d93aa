#!/usr/bin/env bash
# Start-up and the fixed cost of small runs: the shipped single file (published once, linux-x64) against yara on
# the same small inputs. Paired runs, alternating between the commands, so load from other processes hits all of
# them alike; prints the median wall, CPU (user + system) and peak RSS of each, and the ratios.
#
#   bench/startup/run.sh                  # publishes exir into a temp folder first
#   EXIR=/path/to/exir bench/startup/run.sh
#   RUNS=21 bench/startup/run.sh
#   PUBLISH_ARGS="-p:EnableCompressionInSingleFile=true" bench/startup/run.sh   # compare a publish setting
#   EXIR_BEFORE=/path/to/older/exir bench/startup/run.sh   # also time an older build, in the same rounds
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-11}
YARA=${YARA:-$(command -v yara || true)}
[ -n "$YARA" ] || { echo "yara not found (apt-get install yara)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || [ -x /usr/bin/time ] || { echo "/usr/bin/time not found (apt-get install time)" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/exir-bench-startup.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ -z "${EXIR:-}" ]; then
  echo "publishing exir (Release, linux-x64 single file)..." >&2
  # shellcheck disable=SC2086
  dotnet publish "$ROOT/src/Exir.Cli" -c Release -r linux-x64 -o "$WORK/publish" -nologo -v q ${PUBLISH_ARGS:-} >&2
  EXIR="$WORK/publish/exir"
fi
echo "exir: $EXIR ($(( $(stat -c %s "$EXIR") / 1048576 )) MiB)"

# The inputs: an empty folder, and a small tree (a web folder of a few pages, one of them a one-line web shell).
mkdir -p "$WORK/empty" "$WORK/tree/owa/auth"
for i in $(seq 1 20); do printf '<html><body>page %d</body></html>\n' "$i" > "$WORK/tree/owa/auth/page$i.aspx"; done
printf '<%%@ Page Language="Jscript"%%><%%eval(Request.Item["p"],"unsafe");%%>\n' > "$WORK/tree/owa/auth/shell.aspx"
cat > "$WORK/rule.yar" <<'YAR'
rule eval_unsafe { strings: $a = "eval(Request.Item[" $b = "\"unsafe\"" condition: $a and $b }
YAR

NAMES=(version inventory empty-scan exir-yara yara)
CMDS=(
  "$EXIR --version"
  "$EXIR inventory 15.2.792.3"
  "$EXIR scan $WORK/empty --no-progress"
  "$EXIR yara $WORK/rule.yar $WORK/tree -r"
  "$YARA -r $WORK/rule.yar $WORK/tree"
)
if [ -n "${EXIR_BEFORE:-}" ]; then
  NAMES+=(before-version before-inventory before-empty-scan)
  CMDS+=("$EXIR_BEFORE --version" "$EXIR_BEFORE inventory 15.2.792.3" "$EXIR_BEFORE scan $WORK/empty --no-progress")
fi
# Both must find the same one match before the times mean anything.
exir_hits=$($EXIR yara "$WORK/rule.yar" "$WORK/tree" -r 2>/dev/null | sort || true)
yara_hits=$($YARA -r "$WORK/rule.yar" "$WORK/tree" 2>/dev/null | sort)
if [ "$exir_hits" = "$yara_hits" ] && [ -n "$yara_hits" ]; then echo "same matches: $(echo "$yara_hits" | wc -l)"
else echo "MATCHES DIFFER:"; echo "exir: $exir_hits"; echo "yara: $yara_hits"; fi

for n in "${NAMES[@]}"; do : > "$WORK/$n.times"; done
# One untimed round warms the page cache; then RUNS rounds, each running every command once, in turn.
for c in "${CMDS[@]}"; do $c >/dev/null 2>&1 || true; done
for _ in $(seq 1 "$RUNS"); do
  for i in "${!NAMES[@]}"; do
    # %e wall s, %U+%S cpu s, %M peak RSS KiB; exit 1 (findings) is not a failure here.
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/t" ${CMDS[$i]} >/dev/null 2>&1 || true
    tail -1 "$WORK/t" >> "$WORK/${NAMES[$i]}.times"
  done
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A W C M
for n in "${NAMES[@]}"; do
  W[$n]=$(awk '{print $1}' "$WORK/$n.times" | median)
  C[$n]=$(awk '{print $2+$3}' "$WORK/$n.times" | median)
  M[$n]=$(awk '{print $4/1024}' "$WORK/$n.times" | median)
done
printf '\nmedians of %d paired runs (load average now: %s)\n' "$RUNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-18s %8s %8s %9s\n' command wall_s cpu_s rss_MiB
for n in "${NAMES[@]}"; do printf '%-18s %8.3f %8.3f %9.1f\n' "$n" "${W[$n]}" "${C[$n]}" "${M[$n]}"; done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else printf "n/a (under 0.01 s)" }'; }
printf '\nexir yara / yara: wall %s, cpu %s, rss %s\n' "$(ratio "${W[exir-yara]}" "${W[yara]}")" "$(ratio "${C[exir-yara]}" "${C[yara]}")" "$(ratio "${M[exir-yara]}" "${M[yara]}")"
printf 'exir --version / yara: wall %s\n' "$(ratio "${W[version]}" "${W[yara]}")"
if [ -n "${EXIR_BEFORE:-}" ]; then
  for n in version inventory empty-scan; do
    printf 'before / now, %s: wall %s, cpu %s, rss %s\n' "$n" "$(ratio "${W[before-$n]}" "${W[$n]}")" "$(ratio "${C[before-$n]}" "${C[$n]}")" "$(ratio "${M[before-$n]}" "${M[$n]}")"
  done
fi
printf 'targets: --version %s, inventory %s (under 0.1 s wall)\n' \
  "$(awk -v w="${W[version]}" 'BEGIN{print (w < 0.1 ? "met" : "missed")}')" "$(awk -v w="${W[inventory]}" 'BEGIN{print (w < 0.1 ? "met" : "missed")}')"
