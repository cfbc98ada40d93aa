#!/usr/bin/env bash
# The cost of a protective reverse proxy in front of Exchange: the same benign Exchange request mix (wrk, Lua
# script exchange-mix.lua) against a fast backend directly, through nginx, through nginx + ModSecurity + OWASP CRS,
# and through exir proxy. Prints req/s, p50/p99 latency, the p99 each proxy adds and the exir/nginx and
# exir/ModSecurity ratios.
#
#   bench/proxy/run.sh [--duration S] [--pl2] [--stock-crs]      speed (default 15 s per setup)
#   bench/proxy/run.sh --attacks [--pl2] [--stock-crs]            which setup blocks which attack (curl, once each),
#                                                                 and which refuses a benign client request
#
# --pl2: also ModSecurity with CRS paranoia level 2. --stock-crs: CRS exactly as shipped (without it, the CRS
# setups allow Exchange's MAPI/HTTP and ActiveSync content types, which CRS refuses out of the box).
# EXIR: the exir program (default: the Release build); setup 4 is skipped when it has no `proxy` verb.
# EXIR_ENV: environment assignments for exir proxy (e.g. "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0", as the systemd unit sets).
# BASE_PORT: first of the local ports used (default 18180); KEEP_TMP=1 keeps the temp folder (configs, logs). Nothing is left behind: configs, logs and pid files
# live in a mktemp folder removed at exit, and every process started here is stopped by its pid.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/bench/proxy"
duration=15 attacks=0 pl2=0 stock=0
while [ $# -gt 0 ]; do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --attacks) attacks=1; shift ;;
    --pl2) pl2=1; shift ;;
    --stock-crs) stock=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
EXIR=${EXIR:-$repo/src/Exir.Cli/bin/Release/net10.0/exir}
base=${BASE_PORT:-18180}
modsec_module=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so

# ---- tools ----
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
[ -f "$modsec_module" ] || missing+=(libnginx-mod-http-modsecurity)
[ -d /usr/share/modsecurity-crs/rules ] || missing+=(modsecurity-crs)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/exir-bench-proxy.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $(seq "$base" $((base + 5))); do
  port_free "$p" || { echo "port $p is in use; set BASE_PORT" >&2; exit 2; }
done
backend_port=$base

# nginx runs as the current user: when that is root, its workers stay root too (not nobody), so they can use
# the private temp folders.
user_line=""
[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"

# nginx_conf NAME PORT MAIN_DIRECTIVES HTTP_DIRECTIVES SERVER_DIRECTIVES WORKERS
nginx_conf() {
  local d="$tmp/$1"
  mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
$3
$user_line
worker_processes $6;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  $4
  server {
    listen 127.0.0.1:$2 backlog=4096;
    $5
  }
}
EOF
}

start_nginx() { # NAME
  local d="$tmp/$1"
  nginx -e "$d/error.log" -p "$d/" -c "$d/nginx.conf" -g 'daemon off;' >"$d/stdout.log" 2>&1 &
  pids+=($!)
  master[$1]=$!
}
declare -A master=()

# CPU time (clock ticks) of a process and its children (an nginx master and its workers): the CPU each request
# costs is steadier on a shared machine than req/s, which moves with what else runs.
cpu_ticks() { # PID
  local t=0 p f
  for p in "$1" $(pgrep -P "$1" || true); do
    f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
    t=$((t + ${f% *} + ${f#* }))
  done
  echo "$t"
}

wait_ready() { # NAME URL
  for _ in $(seq 1 150); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$2/owa/" || true)
    [ "$code" != "000" ] && return 0
    sleep 0.2
  done
  echo "$1 did not start; its log:" >&2
  tail -n 20 "$tmp/$1"/*.log >&2 || true
  exit 1
}

# ---- the backend: nginx answering every request with a small fixed 200 ----
nginx_conf backend "$backend_port" "" "" \
  'location / { default_type text/plain; return 200 "exchange backend ok\n"; }' auto
start_nginx backend
wait_ready backend "http://127.0.0.1:$backend_port"

proxy_http="upstream exchange_backend { server 127.0.0.1:$backend_port; keepalive 64; }"
proxy_server() { # NAME -> the proxy location (with a buffered access log, as exir proxy keeps one)
  cat <<EOF
access_log $tmp/$1/access.log combined buffer=64k flush=1s;
    client_max_body_size 100m;
    location / {
      proxy_pass http://exchange_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
EOF
}

modsec_conf() { # NAME PARANOIA_LEVEL
  local d="$tmp/$1"
  local allow=""
  # CRS refuses request content types it does not list; Exchange's MAPI/HTTP and ActiveSync bodies are among them.
  [ "$stock" = 1 ] || allow="SecAction \"id:900220,phase:1,nolog,pass,t:none,setvar:'tx.allowed_request_content_type=|application/x-www-form-urlencoded| |multipart/form-data| |multipart/related| |text/xml| |application/xml| |application/soap+xml| |application/json| |application/mapi-http| |application/vnd.ms-sync.wbxml| |application/octet-stream|'\""
  cat >"$d/modsec.conf" <<EOF
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "@rx ^(?:application(?:/soap\\+|/)|text/)xml" "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "@rx ^application/json" "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRule REQBODY_ERROR "!@eq 0" "id:200002,phase:2,t:none,log,deny,status:400,msg:'request body could not be parsed'"
SecResponseBodyAccess Off
SecTmpDir $d/tmp
SecDataDir $d/tmp
SecAuditEngine RelevantOnly
SecAuditLogRelevantStatus "^(?:5|4(?!04))"
SecAuditLogParts ABIJDEFHZ
SecAuditLogType Serial
SecAuditLog $d/audit.log
SecArgumentSeparator &
SecCookieFormat 0
Include /etc/modsecurity/crs/crs-setup.conf
SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=$2"
$allow
Include /usr/share/modsecurity-crs/rules/*.conf
EOF
}

# ---- the setups: name, label, url ----
names=(direct) labels=("direct (backend only)") urls=("http://127.0.0.1:$backend_port") procs=("${master[backend]}")

nginx_conf nginx $((base + 1)) "" "$proxy_http" "$(proxy_server nginx)" auto
start_nginx nginx
names+=(nginx) labels+=("nginx reverse proxy") urls+=("http://127.0.0.1:$((base + 1))") procs+=("${master[nginx]}")

crs_note=""; [ "$stock" = 1 ] && crs_note=", stock"
levels=(1); [ "$pl2" = 1 ] && levels+=(2)
for pl in "${levels[@]}"; do
  name=modsec-pl$pl port=$((base + 1 + pl))
  nginx_conf "$name" "$port" "load_module $modsec_module;" "$proxy_http" \
    "modsecurity on;
    modsecurity_rules_file $tmp/$name/modsec.conf;
    $(proxy_server "$name")" auto
  modsec_conf "$name" "$pl"
  start_nginx "$name"
  names+=("$name") labels+=("nginx + ModSecurity CRS PL$pl$crs_note") urls+=("http://127.0.0.1:$port") procs+=("${master[$name]}")
done

exir_port=$((base + 4))
if [ -x "$EXIR" ] && "$EXIR" proxy --help 2>/dev/null | grep -q -- '--backend'; then
  mkdir -p "$tmp/exir"
  # shellcheck disable=SC2086
  env ${EXIR_ENV:-} "$EXIR" proxy --listen "http://127.0.0.1:$exir_port" --backend "http://127.0.0.1:$backend_port" --out "$tmp/exir" \
    >"$tmp/exir/stdout.log" 2>"$tmp/exir/stderr.log" &
  pids+=($!)
  names+=(exir) labels+=("exir proxy") urls+=("http://127.0.0.1:$exir_port") procs+=($!)
elif [ -x "$EXIR" ]; then
  echo "skipping exir proxy: $EXIR has no 'proxy' verb yet" >&2
else
  echo "skipping exir proxy: $EXIR not found (dotnet build exir.slnx -c Release, or set EXIR)" >&2
fi

for i in "${!names[@]}"; do wait_ready "${names[$i]}" "${urls[$i]}"; done

# ---- --attacks: which setup blocks what ----
if [ "$attacks" = 1 ]; then
  # name | method | target | header (optional) | body (optional)
  attack_list=$(cat <<'EOF'
ProxyLogon SSRF (cookie)|POST|/ecp/y.js|Cookie: X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;|
ProxyLogon proxyLogon.ecp|POST|/ecp/proxyLogon.ecp|Cookie: X-BEResource=Administrator@exch01.contoso.local:444/ecp/proxyLogon.ecp?~1942062522|<r at="Negotiate" ln="john"><s>S-1-5-20</s></r>
ProxyShell /mapi/nspi|GET|/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3f@evil.com||
ProxyShell X-Rps-CAT|POST|/autodiscover/autodiscover.json?@evil.com/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&Email=autodiscover/autodiscover.json%3F@evil.com||
ProxyNotShell|POST|/autodiscover/autodiscover.json?@evil.com/owa/&Email=autodiscover/autodiscover.json%3F@evil.com&Protocol=XYZ&FooProtocol=Powershell||
ProxyNotShell double-encoded|POST|/autodiscover/autodiscover.json?@evil.com/%2550ow%2565rshell&Email=autodiscover/autodiscover.json%253F@evil.com||
OWASSRF|POST|/owa/mastermailbox%40outlook.com/powershell|X-OWA-ExplicitLogonUser: owa/mastermailbox@outlook.com/powershell|
web shell in aspnet_client|POST|/aspnet_client/system_web/discover.aspx|Content-Type: application/x-www-form-urlencoded|cmd=whoami
control: SQL injection|GET|/owa/?id=1%27%20or%20%271%27%3D%271&x=%3Cscript%3Ealert(1)%3C/script%3E||
EOF
)
  printf '%-30s' "request"; for l in "${names[@]}"; do printf ' %-12s' "$l"; done; echo
  declare -A blocked=()
  while IFS='|' read -r aname method target header body; do
    printf '%-30s' "$aname"
    for i in "${!names[@]}"; do
      args=(-s -o /dev/null -w '%{http_code}' --max-time 10 --path-as-is -g -X "$method" -H "Host: mail.contoso.com")
      [ -n "$header" ] && args+=(-H "$header")
      [ "$method" = POST ] && args+=(--data-binary "$body")   # with a Content-Length, even when empty
      code=$(curl "${args[@]}" "${urls[$i]}$target" || true)
      if [ "$code" = 200 ]; then cell="$code pass"; else cell="$code BLOCK"; blocked[$i]=$(( ${blocked[$i]:-0} + 1 )); fi
      printf ' %-12s' "$cell"
    done
    echo
  done <<<"$attack_list"
  total=$(grep -c . <<<"$attack_list")
  printf '%-30s' "blocked"; for i in "${!names[@]}"; do printf ' %-12s' "${blocked[$i]:-0}/$total"; done; echo
  echo
  # The benign mix, one request of each shape (wrk, one connection): a proxy must pass them all.
  printf '%-30s' "benign request"; for l in "${names[@]}"; do printf ' %-12s' "$l"; done; echo
  declare -A status=()
  for i in "${!names[@]}"; do
    while read -r _ shape code; do status["$i/$shape"]=$code; done < <(EXIR_BENCH_CHECK=1 wrk -t1 -c1 -d1s -s "$here/exchange-mix.lua" "${urls[$i]}" | grep '^CHECK')
  done
  for shape in $(grep -o '{ "[a-z-]*"' "$here/exchange-mix.lua" | tr -d '{" '); do
    printf '%-30s' "$shape"
    for i in "${!names[@]}"; do
      code=${status["$i/$shape"]:-none}
      if [ "$code" = 200 ]; then cell="200 ok"; else cell="$code REFUSED"; fi
      printf ' %-12s' "$cell"
    done
    echo
  done
  exit 0
fi

# ---- speed ----
echo "wrk -t2 -c64 -d${duration}s --latency, request mix bench/proxy/exchange-mix.lua; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
results="$tmp/results.tsv"
: >"$results"
for i in "${!names[@]}"; do
  echo "measuring ${labels[$i]}" >&2
  wrk -t2 -c64 -d3s -s "$here/exchange-mix.lua" "${urls[$i]}" >/dev/null   # warm-up (JIT, caches, pools)
  before=$(cpu_ticks "${procs[$i]}")
  line=$(wrk -t2 -c64 -d"${duration}s" --latency -s "$here/exchange-mix.lua" "${urls[$i]}" | grep '^RESULT')
  after=$(cpu_ticks "${procs[$i]}")
  # shellcheck disable=SC2086
  set -- $line
  cpu_us=$(awk -v t=$((after - before)) -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${names[$i]}" "${labels[$i]}" "$4" "$5" "$6" "$7" "$8" "$cpu_us" >>"$results"
done

awk -F'\t' -v exir="$EXIR" '
  { name[NR]=$1; label[NR]=$2; rps[NR]=$3; p50[NR]=$4; p99[NR]=$5; non2xx[NR]=$6; err[NR]=$7; cpu[NR]=$8; idx[$1]=NR }
  END {
    printf "%-40s %10s %8s %8s %13s %8s %7s %13s\n", "setup", "req/s", "p50 ms", "p99 ms", "+p99 vs direct", "non-2xx", "errors", "CPU us/req"
    d = idx["direct"]
    for (i = 1; i <= NR; i++)
      printf "%-40s %10.0f %8.2f %8.2f %13s %8d %7d %13.1f\n", label[i], rps[i], p50[i], p99[i], (i == d ? "-" : sprintf("%+.2f", p99[i] - p99[d])), non2xx[i], err[i], cpu[i]
    if ("exir" in idx) {
      e = idx["exir"]
      printf "\nexir/nginx: %.2fx req/s, %.2fx p99, %.2fx CPU per request", rps[e] / rps[idx["nginx"]], p99[e] / p99[idx["nginx"]], cpu[e] / cpu[idx["nginx"]]
      for (i = 1; i <= NR; i++) if (name[i] ~ /^modsec/)
        printf "; exir/%s: %.2fx req/s, %.2fx p99", name[i], rps[e] / rps[i], p99[e] / p99[i]
      printf "\n"
    } else printf "\nexir proxy not measured (no proxy verb in %s)\n", exir
    for (i = 1; i <= NR; i++) if (non2xx[i] > 0)
      printf "warning: %s answered %d requests with a status other than 2xx/3xx (refused benign traffic; see --attacks)\n", label[i], non2xx[i]
  }' "$results"
