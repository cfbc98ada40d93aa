# Sourced by bench/yara/*.sh: finds yara, makes the work folder (removed at exit) and, unless EXIR is given,
# builds exir (Release) into it. Sets YARA, WORK, EXIR. $1: the work folder's name.
YARA=${YARA:-$(command -v yara || true)}
[ -n "$YARA" ] || { echo "yara not found (apt-get install yara)" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ -z "${EXIR:-}" ]; then
  echo "building exir (Release)..." >&2
  dotnet build "$ROOT/src/Exir.Cli" -c Release --artifacts-path "$WORK/art" -v q -nologo >&2
  EXIR="$WORK/art/bin/Exir.Cli/release/exir"
fi
