# Sourced by bench/scan/run.sh and bench/tpl/run.sh.
# timed NAME COMMAND...: runs the command under /usr/bin/time -v (stdout to $dir/NAME.out) and appends "NAME wall-seconds cpu-seconds peak-RSS-KB" to $dir/rounds.txt.
timed() {
  local name=$1; shift
  /usr/bin/time -v "$@" >"$dir/$name.out" 2>"$dir/$name.time" || true
  awk -F': ' -v n="$name" '/Elapsed \(wall clock\)/ {k=split($2,a,":"); w=0; for(i=1;i<=k;i++) w=w*60+a[i]}
    /User time|System time/ {c+=$2} /Maximum resident set size/ {r=$2} END {print n, w, c, r}' "$dir/$name.time" >>"$dir/rounds.txt"
}

# exir_under_test: sets $exir to $EXIR when given (e.g. the published single file an admin runs), otherwise builds
# src/Exir.Cli (Release) into $dir/art and uses that.
exir_under_test() {
  if [ -n "${EXIR:-}" ]; then exir=$EXIR; return; fi
  echo "building exir (Release)" >&2
  dotnet build "$repo/src/Exir.Cli" -c Release --artifacts-path "$dir/art" -nologo -v q >"$dir/build.log" 2>&1 || { tail -20 "$dir/build.log"; exit 1; }
  exir="$dir/art/bin/Exir.Cli/release/exir"
}
