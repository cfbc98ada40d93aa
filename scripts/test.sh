#!/usr/bin/env bash
# Runs all tests and ends with one line "N passed, N failed, N skipped" counted from the test results.
#   scripts/test.sh          the full run (what .ci/run does): installs the Debian packages the differential and browser
#                            tests need (yara, python3-evtx, libevtx-utils, ripgrep, chromium, nginx, haproxy) and PowerShell 7 (a
#                            dotnet tool, the JSON oracle), builds, checks both
#                            single-file publishes, starts a private PostgreSQL cluster on 127.0.0.1 (scripts/pg-cluster.sh;
#                            EXIR_TEST_PG for the case store's tests, stopped and removed at exit), runs every test
#   scripts/test.sh --fast   the edit loop: incremental build, no installs, no publishes, tests not marked Tier=slow
# Tests that need ../shared skip with a reason when it is absent (a fresh clone); the skips are counted in the last line.
# The PostgreSQL case tests skip without EXIR_TEST_PG (--fast; or set it to a server of your own to run them).
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

fast=0
[ "${1:-}" = "--fast" ] && fast=1

results=$(mktemp -d -t exir-test-XXXXXX)
pgdir=""
# The private PostgreSQL cluster of the case store's tests is stopped and removed whatever happens.
trap '[ -n "$pgdir" ] && scripts/pg-cluster.sh stop "$pgdir"; rm -rf "$results"' EXIT
fail=0

if [ $fast -eq 0 ]; then
  need=()
  command -v yara >/dev/null || need+=(yara)
  command -v evtx_dump.py >/dev/null || python3 -c 'import Evtx' 2>/dev/null || need+=(python3-evtx)
  command -v evtxexport >/dev/null || need+=(libevtx-utils)
  command -v rg >/dev/null || need+=(ripgrep)
  command -v chromium >/dev/null || need+=(chromium)
  # The mitigation tests run the emitted configurations in real nginx and HAProxy (daemons live in /usr/sbin).
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
  # The case store's tests run on a real PostgreSQL too (a private cluster below, never the machine's own server).
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}") >"$results/apt.log" 2>&1 \
      || { echo "warning: could not install ${need[*]}; the tests that need them fail" >&2; tail -5 "$results/apt.log" >&2; }
  fi
  # PowerShell 7 is the oracle for "every JSON output loads in ConvertFrom-Json" (and runs Test-ProxyLogon).
  if ! command -v pwsh >/dev/null && [ ! -x "$HOME/.dotnet/tools/pwsh" ]; then
    dotnet tool install --global PowerShell --version 7.6.10 >"$results/pwsh.log" 2>&1 \
      || echo "warning: could not install PowerShell 7 (see the test's skip reason)" >&2
  fi
fi

dotnet build exir.slnx -c Release -nologo -v q || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

if [ $fast -eq 0 ] && [ -z "${EXIR_TEST_PG:-}" ]; then
  pgdir=$(mktemp -d -t exir-pg-XXXXXX)
  if url=$(scripts/pg-cluster.sh start "$pgdir" 2>"$results/pg.log"); then
    export EXIR_TEST_PG="$url"
  else
    echo "warning: could not start a PostgreSQL cluster; the PostgreSQL case tests skip" >&2; tail -5 "$results/pg.log" >&2
  fi
fi

if [ $fast -eq 0 ]; then
  # The admin runs exir on the Exchange server: both single-file builds must publish.
  for rid in win-x64 linux-x64; do
    if ! dotnet publish src/Exir.Cli -c Release -r "$rid" -o "$results/publish-$rid" -nologo -v q >"$results/publish-$rid.log" 2>&1; then
      echo "publish $rid FAILED"; tail -20 "$results/publish-$rid.log"; fail=1
    elif [ "$rid" = linux-x64 ] && ! "$results/publish-$rid/exir" --version >"$results/version.log" 2>&1; then
      # The shipped file itself must start (bundle, ReadyToRun code, runtime), not only the build's exir.dll.
      echo "published linux-x64 exir does not start: $(tail -3 "$results/version.log")"; fail=1
    fi
    rm -rf "$results/publish-$rid"
  done
  filter=()
else
  filter=(--filter "Tier!=slow")
fi

dotnet test exir.slnx -c Release --no-build "${filter[@]}" --logger "trx" --results-directory "$results/trx" -- RunConfiguration.CollectSourceInformation=false
rc=$?

passed=0; failed=0; skipped=0
for f in "$results"/trx/*.trx; do
  [ -f "$f" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  p=$(echo "$counters" | grep -o ' passed="[0-9]*"' | grep -o '[0-9]*'); p=${p:-0}
  x=$(echo "$counters" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*'); x=${x:-0}
  # Skipped tests are counted in total but not in executed (the trx notExecuted counter stays 0 for them).
  t=$(echo "$counters" | grep -o ' total="[0-9]*"' | grep -o '[0-9]*'); t=${t:-0}
  e=$(echo "$counters" | grep -o ' executed="[0-9]*"' | grep -o '[0-9]*'); e=${e:-0}
  s=$((t - e))
  passed=$((passed + p)); failed=$((failed + x)); skipped=$((skipped + s))
done
[ $fail -ne 0 ] && failed=$((failed + 1))
if [ $rc -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
