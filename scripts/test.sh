#!/usr/bin/env bash
# Runs all tests. Installs (once) the Debian packages the differential and browser tests need:
# yara (YARA oracle), python3-evtx and libevtx-utils (EVTX oracles), ripgrep (bench anchor),
# chromium (HTML report rendering).
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

need=()
command -v yara >/dev/null || need+=(yara)
command -v evtx_dump.py >/dev/null || python3 -c 'import Evtx' 2>/dev/null || need+=(python3-evtx)
command -v evtxexport >/dev/null || need+=(libevtx-utils)
command -v rg >/dev/null || need+=(ripgrep)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}") >/tmp/exir-apt.log 2>&1 \
    || echo "warning: could not install ${need[*]} (see /tmp/exir-apt.log); oracle tests will fail" >&2
fi

results=$(mktemp -d)
fail=0
dotnet build exir.slnx -c Release -nologo -v q || { echo "0 passed, 1 failed"; exit 1; }

# The admin runs exir on the Exchange server: both single-file builds must publish.
for rid in win-x64 linux-x64; do
  if ! dotnet publish src/Exir.Cli -c Release -r "$rid" -o "$results/publish-$rid" -nologo -v q >"$results/publish-$rid.log" 2>&1; then
    echo "publish $rid FAILED"; tail -20 "$results/publish-$rid.log"; fail=1
  fi
done

dotnet test exir.slnx -c Release --no-build --logger "trx" --results-directory "$results/trx" -- RunConfiguration.CollectSourceInformation=false
rc=$?

passed=0; failed=0
for f in "$results"/trx/*.trx; do
  [ -f "$f" ] || continue
  p=$(grep -o 'passed="[0-9]*"' "$f" | head -1 | grep -o '[0-9]*'); p=${p:-0}
  x=$(grep -o ' failed="[0-9]*"' "$f" | head -1 | grep -o '[0-9]*'); x=${x:-0}
  passed=$((passed + p)); failed=$((failed + x))
done
[ $fail -ne 0 ] && failed=$((failed + 1))
if [ $rc -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
