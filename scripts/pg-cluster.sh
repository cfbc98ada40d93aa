#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for the case store's tests (never the machine's own server).
#   scripts/pg-cluster.sh start DIR   initdb into DIR, start on 127.0.0.1 on a free port (trust auth on loopback only),
#                                     print the postgresql:// URL for EXIR_TEST_PG
#   scripts/pg-cluster.sh stop DIR    stop it and remove DIR
# As root, the cluster runs as the `postgres` OS user (PostgreSQL refuses to run as root).
set -euo pipefail
cmd=${1:?start or stop}; dir=${2:?folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || bin=$(dirname "$(command -v initdb)")
as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
owner() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }
case "$cmd" in
  start)
    mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as "$bin/initdb" -D "$dir/data" -U "$(owner)" -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=100" start >/dev/null
    echo "postgresql://$(owner)@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -d "$dir/data" ] && as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
