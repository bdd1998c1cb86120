#!/usr/bin/env bash
# corsd benchmark: corsd against nginx (same CORS policy) and against a bare
# evhttp server (the floor), all on 127.0.0.1, one worker each.
#
# Usage: bench/run.sh [--quick]
#   --quick   smoke run: 2 s per wrk phase, a 32 MiB download, 2,000 held
#             connections instead of 10,000.
# Environment (optional): BENCH_DURATION (s per wrk phase), BENCH_WARMUP (s),
#   BENCH_CONNS (wrk connections, default 50), BENCH_ROUNDS (rounds of the wrk
#   phases, default 3, --quick 1), BENCH_BIG_MIB (download size),
#   BENCH_RATE (curl --limit-rate, default 10M), BENCH_HOLD (held connections),
#   BENCH_WINDOW (requests in flight while holding them), BENCH_KEEP=1 (keep
#   the temporary directory with configs and logs), BENCH_REV=REV (benchmark
#   that commit, exported with git archive, instead of the working tree).
#
# Progress goes to stderr; the results (a markdown block ready for the
# README) go to stdout. See bench/README.md for what each number means.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

usage() { echo "usage: bench/run.sh [--quick]"; }
QUICK=0
case "${1:-}" in
  "") ;;
  --quick) QUICK=1 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

if [ "$QUICK" = 1 ]; then
  DUR=${BENCH_DURATION:-2} WARM=${BENCH_WARMUP:-1} BIG_MIB=${BENCH_BIG_MIB:-32} HOLD=${BENCH_HOLD:-2000}
else
  DUR=${BENCH_DURATION:-10} WARM=${BENCH_WARMUP:-2} BIG_MIB=${BENCH_BIG_MIB:-256} HOLD=${BENCH_HOLD:-10000}
fi
CONNS=${BENCH_CONNS:-50}
ROUNDS=${BENCH_ROUNDS:-$([ "$QUICK" = 1 ] && echo 1 || echo 3)}
WRK_CMD="wrk -t1 -c$CONNS -d${DUR}s"
RATE=${BENCH_RATE:-10M}
WINDOW=${BENCH_WINDOW:-256}
ORIGIN="https://app.example.com"
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- packages
# Same style as scripts/deps.sh: install only what is missing, sudo when not root.
deps() {
  local want=(build-essential cmake pkg-config libevent-dev libyaml-dev curl python3 procps)
  local missing=() p
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  command -v nginx >/dev/null || missing+=(nginx-light)
  command -v wrk >/dev/null || missing+=(wrk)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to install ${missing[*]}"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" ||
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; } ||
    { [[ " ${missing[*]} " == *" nginx-light "* ]] &&
      "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]/nginx-light/nginx}"; }
}

# ---------------------------------------------------------------- processes
# Every process started here is recorded and stopped by its PID on exit.
STARTED=()
SAMPLER_PID=""
TMP=""
cleanup() {
  local rc=$? pid i alive
  set +e
  trap - EXIT INT TERM
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
  for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for ((i = 0; i < 50; i++)); do
    alive=0
    for pid in "${STARTED[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${STARTED[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "$TMP" ]; then
    if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

alive() { kill -0 "$1" 2>/dev/null; }

# wait_log FILE PID SECONDS: until FILE has a "listening on HOST:PORT" line;
# prints PORT.
wait_log() {
  local file=$1 pid=$2 i line
  for ((i = 0; i < $3 * 20; i++)); do
    line=$(grep -m1 -o 'listening on [^ ]*' "$file" 2>/dev/null || true)
    if [ -n "$line" ]; then echo "${line##*:}"; return 0; fi
    alive "$pid" || { cat "$file" >&2; die "process $pid exited before listening"; }
    sleep 0.05
  done
  cat "$file" >&2
  die "no 'listening on' line in $file after $3 s"
}

# wait_port PORT PID SECONDS [LOG...]: until a TCP connect to 127.0.0.1:PORT
# succeeds; on failure the LOG files are shown.
wait_port() {
  local i port=$1 pid=$2 secs=$3
  shift 3
  for ((i = 0; i < secs * 20; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! alive "$pid"; then
      cat "$@" >&2 2>/dev/null
      die "process $pid exited before listening on port $port"
    fi
    sleep 0.05
  done
  cat "$@" >&2 2>/dev/null
  die "nothing listens on 127.0.0.1:$port after $secs s"
}

# child_of PID: the one child of an nginx master (its worker), bounded wait.
child_of() {
  local i kids
  for ((i = 0; i < 100; i++)); do
    kids=$(pgrep -P "$1" || true)
    if [ -n "$kids" ] && [ "$(wc -w <<<"$kids")" = 1 ]; then echo "$kids"; return 0; fi
    sleep 0.05
  done
  die "nginx master $1 has no single worker (children: ${kids:-none})"
}

# ---------------------------------------------------------------- /proc readers
cpu_ticks() { # utime + stime of the whole process, in clock ticks
  local s f
  s=$(<"/proc/$1/stat")
  s=${s##*) }
  read -r -a f <<<"$s"
  echo $((f[11] + f[12]))
}
status_kb() { # status_kb PID FIELD (VmRSS, VmHWM)
  local k v rest
  while read -r k v rest; do
    if [ "$k" = "$2:" ]; then echo "$v"; return 0; fi
  done <"/proc/$1/status"
  echo 0
}
write_bytes() {
  local k v
  while read -r k v; do
    if [ "$k" = "write_bytes:" ]; then echo "$v"; return 0; fi
  done <"/proc/$1/io"
  echo 0
}
# Resets VmHWM to the current RSS (Linux >= 4.0) so a phase's peak is its own.
reset_hwm() { { echo 5 >"/proc/$1/clear_refs"; } 2>/dev/null || true; }

calc() { awk "BEGIN { printf \"%.${2:-1}f\", ($1) }"; }
# ratio A B [DECIMALS]: A/B, or n/a when either is missing or B is zero.
ratio() {
  if [ -z "${1:-}" ] || [ -z "${2:-}" ] || [ "$(calc "$2 == 0" 0)" = 1 ]; then echo "n/a"; return; fi
  calc "$1 / $2" "${3:-2}"
}
mib() { calc "$1 / 1024" 1; } # KiB -> MiB

declare -A R=()

# ---------------------------------------------------------------- build
deps
# BENCH_REV=REV builds that commit (exported with git archive into
# build/bench/rev) instead of the working tree, e.g. while the tree is mid-edit.
SRC=$ROOT BUILD=$ROOT/build/bench
if [ -n "${BENCH_REV:-}" ]; then
  REV=$(git -C "$ROOT" rev-parse --short "$BENCH_REV")
  SRC=$ROOT/build/bench/rev/src-$REV BUILD=$ROOT/build/bench/rev/build-$REV
  if [ ! -d "$SRC" ]; then
    mkdir -p "$SRC.partial"
    git -C "$ROOT" archive "$BENCH_REV" | tar -x -C "$SRC.partial"
    mv "$SRC.partial" "$SRC"
  fi
else
  REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
fi
log "building corsd $REV (Release) in ${BUILD#"$ROOT"/}"
BUILD_LOG=$(mktemp "${TMPDIR:-/tmp}/corsd-bench-build.XXXXXX")
if ! { cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCORSD_TESTS=OFF &&
  cmake --build "$BUILD" -j"$(nproc)"; } >"$BUILD_LOG" 2>&1; then
  cat "$BUILD_LOG" >&2
  rm -f "$BUILD_LOG"
  die "corsd build failed (BENCH_REV=HEAD builds the last commit instead of the working tree)"
fi
rm -f "$BUILD_LOG"
CORSD=$BUILD/corsd
FLOOR=$ROOT/build/bench/floor
# shellcheck disable=SC2046 # pkg-config prints several flags on purpose
gcc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -o "$FLOOR" bench/floor.c \
  $(pkg-config --cflags --libs libevent)

# ---------------------------------------------------------------- setup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/corsd-bench.XXXXXX")
mkdir -p "$TMP/www" "$TMP/up/tmp" "$TMP/ngx/tmp"
truncate -s "${BIG_MIB}M" "$TMP/www/big.bin"
BIG_BYTES=$((BIG_MIB * 1024 * 1024))
TMP_FS=$(stat -f -c %T "$TMP")
[ "$TMP_FS" = tmpfs ] && log "warning: $TMP is on tmpfs: nginx's temp-file spooling will not show as disk writes"

# File descriptors: 10,000 held connections need more than the usual 1024.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 65536 ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
NOFILE=$(ulimit -n)
HOLD_NOTE=""
if [ "$NOFILE" -lt $((HOLD + WINDOW + 512)) ]; then
  HOLD_NOTE="open-file limit is $NOFILE (hard $hard): held connections cut from $HOLD"
  HOLD=$((NOFILE - WINDOW - 512))
  HOLD_NOTE="$HOLD_NOTE to $HOLD"
  log "warning: $HOLD_NOTE"
fi

read -r P_UP P_NGX < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')

NGX_USER=""
[ "$(id -u)" = 0 ] && NGX_USER="user $(id -un) $(id -gn);"
JSON='{"id":4217,"name":"benchmark item","tags":["cors","proxy"],"price":19.99,"in_stock":true}'
# nginx preallocates its connection table: 4096 (corsd's default
# max_connections) for the measured phases, enough for the held connections
# in the restart that holds them.
NGX_CONNS=4096 NGX_HOLD_CONNS=$((HOLD + WINDOW + 1024))

ngx_common() { # ngx_common DIR: main context and the http-level basics
  cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log warn;
$NGX_USER
worker_rlimit_nofile $NOFILE;
EOF
}
ngx_http_common() {
  cat <<EOF
    access_log off;
    server_tokens off;
    default_type application/octet-stream;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
EOF
}

# The upstream: a ~100-byte JSON answer and the big file.
{
  ngx_common "$TMP/up"
  cat <<EOF
events { worker_connections 4096; }
http {
$(ngx_http_common "$TMP/up")
    sendfile on;
    tcp_nopush on;
    server {
        listen 127.0.0.1:$P_UP;
        root $TMP/www;
        location = /api/items {
            default_type application/json;
            return 200 '$JSON';
        }
    }
}
EOF
} >"$TMP/up/nginx.conf"

# nginx as a CORS proxy with corsd's policy: allowed origin exactly
# https://app.example.com (any case, default port), methods GET HEAD POST PUT
# DELETE, headers Content-Type and X-Request-ID (case-insensitive, lenient
# list), credentials, max-age 600, expose X-Request-ID, Vary, the upstream's
# Access-Control-* hidden, a keep-alive upstream pool of 64.
{
  ngx_common "$TMP/ngx"
  cat <<'EOF' | sed -e "s|@P_UP@|$P_UP|g" -e "s|@P_NGX@|$P_NGX|g" -e "s|@TMP@|$TMP|g"
events { worker_connections @NGX_CONNS@; }
http {
@HTTP_COMMON@
    upstream backend {
        server 127.0.0.1:@P_UP@;
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 60s;
    }

    map $http_origin $cors_origin {
        ""                                        none;
        "~*^https://app\.example\.com(:443)?$"    yes;
        default                                   no;
    }
    map $http_access_control_request_method $cors_method_ok {
        GET 1; HEAD 1; POST 1; PUT 1; DELETE 1;
        default 0;
    }
    map $http_access_control_request_headers $cors_headers_ok {
        "~*^[ \t,]*((content-type|x-request-id)[ \t]*(,[ \t,]*|$))*$"  1;
        default 0;
    }
    map $http_access_control_request_method $cors_has_acrm {
        ""      0;
        default 1;
    }
    map "$request_method$cors_has_acrm" $cors_preflight {
        OPTIONS1 1;
        default  0;
    }
    map "$cors_preflight:$cors_origin:$cors_method_ok:$cors_headers_ok" $cors_state {
        "1:yes:1:1"         pf_ok;
        "~^1:(yes|no):"     pf_denied;
        "~^0:yes:"          ok;
        default             none;
    }
    map $cors_state $cors_acao { pf_ok $http_origin; ok $http_origin; default ""; }
    map $cors_state $cors_acac { pf_ok true; ok true; default ""; }
    map $cors_state $cors_acam { pf_ok "GET, HEAD, POST, PUT, DELETE"; default ""; }
    map $cors_state $cors_acah { pf_ok $http_access_control_request_headers; default ""; }
    map $cors_state $cors_acma { pf_ok 600; default ""; }
    map $cors_state $cors_aceh { ok X-Request-ID; default ""; }
    map $cors_state $cors_vary {
        pf_ok     "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
        pf_denied "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
        default   Origin;
    }

    server {
        listen 127.0.0.1:@P_NGX@;

        # Preflights never reach the upstream.
        if ($cors_state = pf_ok) { return 204; }
        if ($cors_state = pf_denied) { return 403 "preflight denied\n"; }

        # Empty values are not sent; "always" covers 204/403/5xx too.
        add_header Access-Control-Allow-Origin $cors_acao always;
        add_header Access-Control-Allow-Credentials $cors_acac always;
        add_header Access-Control-Allow-Methods $cors_acam always;
        add_header Access-Control-Allow-Headers $cors_acah always;
        add_header Access-Control-Max-Age $cors_acma always;
        add_header Access-Control-Expose-Headers $cors_aceh always;
        add_header Vary $cors_vary always;

        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_hide_header Access-Control-Allow-Origin;
            proxy_hide_header Access-Control-Allow-Credentials;
            proxy_hide_header Access-Control-Allow-Methods;
            proxy_hide_header Access-Control-Allow-Headers;
            proxy_hide_header Access-Control-Allow-Private-Network;
            proxy_hide_header Access-Control-Expose-Headers;
            proxy_hide_header Access-Control-Max-Age;
        }
    }
}
EOF
} >"$TMP/ngx/nginx.conf.in"
# The shared http basics go in where @HTTP_COMMON@ stands.
ngx_http_common "$TMP/ngx" >"$TMP/ngx/http_common"
sed -e "/@HTTP_COMMON@/{r $TMP/ngx/http_common" -e "d}" -e "s|@NGX_CONNS@|$NGX_CONNS|" \
  "$TMP/ngx/nginx.conf.in" >"$TMP/ngx/nginx.conf"
sed -e "/@HTTP_COMMON@/{r $TMP/ngx/http_common" -e "d}" -e "s|@NGX_CONNS@|$NGX_HOLD_CONNS|" \
  "$TMP/ngx/nginx.conf.in" >"$TMP/ngx/nginx-hold.conf"

cat >"$TMP/corsd.yaml" <<EOF
listen: "127.0.0.1:0"
upstream: "http://127.0.0.1:$P_UP"
workers: 1
timeouts:
  connect: 5s
  upstream: 60s
  client: 300s
  shutdown: 2s
limits:
  max_connections: 20000
forwarded: true
log:
  level: info
  access: false
policies:
  - name: bench
    origins: ["$ORIGIN"]
    methods: [GET, HEAD, POST, PUT, DELETE]
    headers: [Content-Type, X-Request-ID]
    expose_headers: [X-Request-ID]
    credentials: true
    max_age: 600
EOF
"$CORSD" -t -c "$TMP/corsd.yaml" >"$TMP/corsd-t.log" 2>&1 || { cat "$TMP/corsd-t.log" >&2; die "corsd rejects the benchmark config"; }

# ---------------------------------------------------------------- start
start_nginx() { # start_nginx DIR PORT [CONF]: sets NGX_STARTED_MASTER and NGX_STARTED_WORKER
  nginx -q -p "$1/" -c "$1/${3:-nginx.conf}" -e "$1/error.log" 2>"$1/stderr.log" &
  NGX_STARTED_MASTER=$!
  STARTED+=("$NGX_STARTED_MASTER")
  wait_port "$2" "$NGX_STARTED_MASTER" 10 "$1/error.log" "$1/stderr.log"
  NGX_STARTED_WORKER=$(child_of "$NGX_STARTED_MASTER")
}
start_corsd() { # sets CORSD_PID, CORSD_PORT
  local logf=$TMP/corsd.$1.log
  "$CORSD" -c "$TMP/corsd.yaml" 2>"$logf" &
  CORSD_PID=$!
  STARTED+=("$CORSD_PID")
  CORSD_PORT=$(wait_log "$logf" "$CORSD_PID" 10)
  wait_port "$CORSD_PORT" "$CORSD_PID" 10
}
stop_pid() { # TERM, bounded wait, KILL
  local i
  kill -TERM "$1" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do alive "$1" || break; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average at start: $LOAD_START"
start_nginx "$TMP/up" "$P_UP"
UP_PID=$NGX_STARTED_WORKER
start_corsd 1
R[idle.corsd]=$(status_kb "$CORSD_PID" VmRSS)
start_nginx "$TMP/ngx" "$P_NGX"
NGX_MASTER=$NGX_STARTED_MASTER NGX_PID=$NGX_STARTED_WORKER
R[idle.nginx]=$(status_kb "$NGX_PID" VmRSS)
"$FLOOR" 0 2>"$TMP/floor.log" &
FLOOR_PID=$!
STARTED+=("$FLOOR_PID")
P_FLOOR=$(wait_log "$TMP/floor.log" "$FLOOR_PID" 10)
wait_port "$P_FLOOR" "$FLOOR_PID" 10
R[idle.floor]=$(status_kb "$FLOOR_PID" VmRSS)
log "upstream nginx :$P_UP (worker $UP_PID), corsd :$CORSD_PORT (pid $CORSD_PID), nginx proxy :$P_NGX (worker $NGX_PID), floor :$P_FLOOR (pid $FLOOR_PID)"

# ---------------------------------------------------------------- same policy?
# CORS headers (names lowercased, sorted) and status of a request; the three
# servers must agree before their numbers are compared.
cors_of() { # cors_of PORT CURL-ARGS...
  local port=$1
  shift
  curl -sS -o /dev/null -D - --max-time 5 "$@" "http://127.0.0.1:$port/api/items" |
    tr -d '\r' | awk 'NR == 1 { print $2; next }
      tolower($0) ~ /^(access-control-|vary:)/ { i = index($0, ":"); print tolower(substr($0, 1, i - 1)) ":" substr($0, i + 1) }' |
    sort | tr '\n' '|'
}
PF=(-X OPTIONS -H "Host: api.example.com" -H "Origin: $ORIGIN" -H "Access-Control-Request-Method: PUT"
  -H "Access-Control-Request-Headers: Content-Type, X-Request-ID")
MISMATCH=0
check_same() { # check_same WHAT PORT... -- CURL-ARGS
  local what=$1 ports=() first="" got p
  shift
  while [ "$1" != -- ]; do ports+=("$1"); shift; done
  shift
  for p in "${ports[@]}"; do
    got=$(cors_of "$p" "$@")
    if [ -z "$first" ]; then
      first=$got
    elif [ "$got" != "$first" ]; then
      log "policy mismatch on $what: port ${ports[0]} says '$first', port $p says '$got'"
      MISMATCH=1
    fi
  done
  log "checked $what: ${first//|/ ; }"
}
check_same "allowed preflight" "$CORSD_PORT" "$P_NGX" "$P_FLOOR" -- "${PF[@]}"
check_same "preflight, bad origin" "$CORSD_PORT" "$P_NGX" -- -X OPTIONS -H "Host: api.example.com" \
  -H "Origin: https://evil.example.com" -H "Access-Control-Request-Method: PUT"
check_same "preflight, bad header" "$CORSD_PORT" "$P_NGX" -- -X OPTIONS -H "Host: api.example.com" \
  -H "Origin: $ORIGIN" -H "Access-Control-Request-Method: GET" -H "Access-Control-Request-Headers: x-other"
check_same "preflight, bad method" "$CORSD_PORT" "$P_NGX" -- -X OPTIONS -H "Host: api.example.com" \
  -H "Origin: $ORIGIN" -H "Access-Control-Request-Method: PATCH"
check_same "actual GET" "$CORSD_PORT" "$P_NGX" -- -H "Host: api.example.com" -H "Origin: $ORIGIN"
check_same "GET, other origin" "$CORSD_PORT" "$P_NGX" -- -H "Host: api.example.com" -H "Origin: https://evil.example.com"
check_same "GET without Origin" "$CORSD_PORT" "$P_NGX" -- -H "Host: api.example.com"
body=$(curl -sS --max-time 5 "http://127.0.0.1:$P_UP/api/items")
log "upstream JSON answer: ${#body} bytes"

# ---------------------------------------------------------------- wrk phases
# run_wrk KEY MODE PORT PID [UPSTREAM-PID]: one round (warm-up, then DUR
# seconds measured); the round's figures go to R[KEY.rN.*].
run_wrk() {
  local key=$1 mode=$2 port=$3 pid=$4 up=${5:-} url out line kv t0 t1 u0=0 u1=0 k n
  n=$((${R[$key.rounds]:-0} + 1))
  R[$key.rounds]=$n
  k=$key.r$n
  url="http://127.0.0.1:$port/api/items"
  BENCH_MODE=$mode timeout $((WARM + 30)) wrk -t1 -c"$CONNS" -d"${WARM}s" -s bench/wrk.lua "$url" >/dev/null
  reset_hwm "$pid"
  t0=$(cpu_ticks "$pid")
  [ -n "$up" ] && u0=$(cpu_ticks "$up")
  out=$(BENCH_MODE=$mode timeout $((DUR + 30)) wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s bench/wrk.lua "$url")
  t1=$(cpu_ticks "$pid")
  [ -n "$up" ] && u1=$(cpu_ticks "$up")
  line=$(grep '^RESULT ' <<<"$out") || { echo "$out" >&2; die "wrk printed no RESULT line"; }
  for kv in ${line#RESULT }; do R[$k.${kv%%=*}]=${kv#*=}; done
  R[$k.cpu_us]=$(calc "($t1 - $t0) * 1000000 / $CLK_TCK / ${R[$k.requests]}" 2)
  R[$k.up_cpu_us]=-
  [ -n "$up" ] && R[$k.up_cpu_us]=$(calc "($u1 - $u0) * 1000000 / $CLK_TCK / ${R[$k.requests]}" 2)
  R[$k.hwm]=$(status_kb "$pid" VmHWM)
  R[$k.errors]=$((${R[$k.err_connect]} + ${R[$k.err_read]} + ${R[$k.err_write]} + ${R[$k.err_status]} + ${R[$k.err_timeout]}))
  log "$mode -> $key round $n: $(calc "${R[$k.rps]}" 0) req/s, p99 $(calc "${R[$k.p99_us]} / 1000" 2) ms," \
    "${R[$k.cpu_us]} us/req CPU (upstream ${R[$k.up_cpu_us]}), load $(cut -d' ' -f1 /proc/loadavg)"
  [ "${R[$k.errors]}" = 0 ] || log "warning: $key: ${R[$k.errors]} wrk errors ($line)"
}

# summarize KEY: the median of each figure over the rounds (the lower middle
# one for an even count), except CPU/req: the lowest, with the median and the
# highest kept; the highest peak RSS; all errors.
median() { printf '%s\n' "$@" | sort -g | sed -n "$(((${#@} + 1) / 2))p"; }
summarize() {
  local key=$1 m i vals n=${R[$1.rounds]}
  for m in rps p50_us p99_us cpu_us up_cpu_us; do
    vals=()
    for ((i = 1; i <= n; i++)); do vals+=("${R[$key.r$i.$m]}"); done
    if [ "${vals[0]}" = - ]; then R[$key.$m]=-; else R[$key.$m]=$(median "${vals[@]}"); fi
    if [ "$m" = cpu_us ] || { [ "$m" = up_cpu_us ] && [ "${vals[0]}" != - ]; }; then
      # Contention from elsewhere only adds CPU time (caches, SMT siblings,
      # steal), so the least disturbed round is the best estimate.
      R[$key.$m.med]=${R[$key.$m]}
      R[$key.$m]=$(printf '%s\n' "${vals[@]}" | sort -g | head -1)
      R[$key.$m.worst]=$(printf '%s\n' "${vals[@]}" | sort -g | tail -1)
    fi
  done
  R[$key.hwm]=0 R[$key.errors]=0
  for ((i = 1; i <= n; i++)); do
    [ "${R[$key.r$i.hwm]}" -gt "${R[$key.hwm]}" ] && R[$key.hwm]=${R[$key.r$i.hwm]}
    R[$key.errors]=$((${R[$key.errors]} + ${R[$key.r$i.errors]}))
  done
}

# Rounds interleave the servers, so a burst of load from elsewhere on the
# machine hits them alike; the medians are reported.
log "preflight and GET phases: $ROUNDS round(s) of $WRK_CMD after ${WARM} s of warm-up"
for ((round = 1; round <= ROUNDS; round++)); do
  run_wrk pf.corsd preflight "$CORSD_PORT" "$CORSD_PID"
  run_wrk pf.nginx preflight "$P_NGX" "$NGX_PID"
  run_wrk pf.floor preflight "$P_FLOOR" "$FLOOR_PID"
done
for ((round = 1; round <= ROUNDS; round++)); do
  run_wrk get.corsd get "$CORSD_PORT" "$CORSD_PID" "$UP_PID"
  run_wrk get.nginx get "$P_NGX" "$NGX_PID" "$UP_PID"
  run_wrk get.direct plain "$P_UP" "$UP_PID"
done
for k in pf.corsd pf.nginx pf.floor get.corsd get.nginx get.direct; do summarize "$k"; done

# ---------------------------------------------------------------- downloads
# download KEY PORT PID [RATE]: one GET of the big file with curl; the
# proxy's RSS is sampled every 50 ms meanwhile.
download() {
  local key=$1 port=$2 pid=$3 rate=${4:-} w0 w1 out code size speed secs stop=$TMP/sampler.stop
  local limit=() max_s=$((BIG_MIB + 120))
  if [ -n "$rate" ]; then limit=(--limit-rate "$rate"); fi
  log "download $BIG_MIB MiB -> $key${rate:+ at $rate/s} (load $(cut -d' ' -f1 /proc/loadavg))"
  rm -f "$stop" "$TMP/sampler.max"
  reset_hwm "$pid"
  w0=$(write_bytes "$pid")
  (
    max=0 i=0
    while [ ! -e "$stop" ] && [ "$i" -lt $((max_s * 20)) ] && [ -e "/proc/$pid" ]; do
      while read -r k v _; do
        if [ "$k" = VmRSS: ]; then [ "$v" -gt "$max" ] && max=$v; break; fi
      done <"/proc/$pid/status"
      i=$((i + 1))
      sleep 0.05
    done
    echo "$max" >"$TMP/sampler.max"
  ) &
  SAMPLER_PID=$!
  out=$(curl -sS -o /dev/null --max-time "$max_s" "${limit[@]}" -H "Host: api.example.com" -H "Origin: $ORIGIN" \
    -w '%{http_code} %{size_download} %{speed_download} %{time_total}' "http://127.0.0.1:$port/big.bin") || true
  touch "$stop"
  wait "$SAMPLER_PID" || true
  SAMPLER_PID=""
  w1=$(write_bytes "$pid")
  read -r code size speed secs <<<"$out"
  if [ "${code:-}" != 200 ] || [ "${size:-}" != "$BIG_BYTES" ]; then
    log "warning: $key: status ${code:-none}, ${size:-0} of $BIG_BYTES bytes"
  fi
  R[$key.mibs]=$(calc "${speed:-0} / 1048576" 1)
  R[$key.secs]=$(calc "${secs:-0}" 2)
  R[$key.ok]=$([ "${code:-}" = 200 ] && [ "${size:-}" = "$BIG_BYTES" ] && echo yes || echo "NO (${code:-?}, ${size:-0} B)")
  R[$key.rss]=$(cat "$TMP/sampler.max" 2>/dev/null || echo 0)
  local hwm
  hwm=$(status_kb "$pid" VmHWM)
  [ "$hwm" -gt "${R[$key.rss]}" ] && R[$key.rss]=$hwm
  R[$key.write]=$((w1 - w0))
}

download dl.corsd "$CORSD_PORT" "$CORSD_PID"
download dl.nginx "$P_NGX" "$NGX_PID"
download dl.direct "$P_UP" "$UP_PID"
download slow.corsd "$CORSD_PORT" "$CORSD_PID" "$RATE"
download slow.nginx "$P_NGX" "$NGX_PID" "$RATE"

# ---------------------------------------------------------------- held connections
# hold KEY PORT PID: HOLD keep-alive connections, a GET on each, all held open
# and idle, a second GET on each.
hold() {
  local key=$1 out line kv
  log "holding $HOLD connections -> $key (load $(cut -d' ' -f1 /proc/loadavg))"
  out=$(timeout 400 python3 bench/conns.py --port "$2" --pid "$3" --conns "$HOLD" --window "$WINDOW" \
    --deadline 360 2>"$TMP/conns.$key.log") || true
  line=$(grep '^RESULT ' <<<"$out") || { cat "$TMP/conns.$key.log" >&2; log "warning: $key: no result"; return 0; }
  for kv in ${line#RESULT }; do R[$key.${kv%%=*}]=${kv#*=}; done
  R[$key.errors]=$((${R[$key.err_connect]} + ${R[$key.err_closed]} + ${R[$key.err_status]} + ${R[$key.err_timeout]}))
  if [ -s "$TMP/conns.$key.log" ]; then sed "s/^/  $key: /" "$TMP/conns.$key.log" >&2; fi
}
# Fresh servers, so their numbers are those of this phase alone.
stop_pid "$CORSD_PID"
start_corsd 2
hold hold.corsd "$CORSD_PORT" "$CORSD_PID"
# What corsd keeps once the clients are gone (closes seen: few descriptors left).
for ((i = 0; i < 100; i++)); do
  [ "$(find "/proc/$CORSD_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" -lt 200 ] && break
  sleep 0.05
done
R[hold.corsd.after]=$(status_kb "$CORSD_PID" VmRSS)
stop_pid "$NGX_MASTER"
start_nginx "$TMP/ngx" "$P_NGX" nginx-hold.conf
NGX_PID=$NGX_STARTED_WORKER
hold hold.nginx "$P_NGX" "$NGX_PID"
if ! alive "$CORSD_PID"; then log "warning: corsd exited during the held-connections phase"; fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average at end: $LOAD_END"
if grep -qiE 'error|warn' "$TMP"/corsd.*.log 2>/dev/null; then
  log "corsd logged warnings or errors:"
  grep -hiE 'error|warn' "$TMP"/corsd.*.log | sort | uniq -c | sort -rn | head -10 >&2
fi

# ---------------------------------------------------------------- report
ms() { calc "${1:-0} / 1000" 2; }
wrk_row() { # wrk_row LABEL KEY
  local k=$2 cpu up
  cpu=$(calc "${R[$k.cpu_us]}" 1) up=${R[$k.up_cpu_us]}
  [ "$ROUNDS" -gt 1 ] && cpu="$cpu ($(calc "${R[$k.cpu_us.med]}" 1), $(calc "${R[$k.cpu_us.worst]}" 1))"
  [ "$up" != - ] && up=$(calc "$up" 1)
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(calc "${R[$k.rps]}" 0)" "$(ms "${R[$k.p50_us]}")" \
    "$(ms "${R[$k.p99_us]}")" "$cpu" "$up" "$(mib "${R[$k.hwm]}")" "${R[$k.errors]}"
}
dl_row() {
  local k=$3
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "${R[$k.mibs]}" "${R[$k.secs]}" \
    "$(mib "${R[$k.rss]}")" "$(calc "${R[$k.write]} / 1048576" 1)" "${R[$k.ok]}"
}
hold_row() {
  local k=$2
  if [ -z "${R[$k.opened]:-}" ]; then printf '| %s | no result | | | | | | |\n' "$1"; return; fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "${R[$k.opened]}" "${R[$k.round1_ok]}" \
    "${R[$k.round2_ok]}" "${R[$k.errors]}" "$(mib "${R[$k.rss_idle_kb]}")" "$(mib "${R[$k.rss_max_kb]}")" "${R[$k.fds_max]}"
}
verdict() { # verdict VALUE OP LIMIT -> ok / MISSED / ?
  if [ "$1" = n/a ] || [ -z "$1" ]; then echo "?"; return; fi
  if [ "$(calc "$1 $2 $3" 0)" = 1 ]; then echo ok; else echo MISSED; fi
}

# cpu_ratio A B: best-round ratio; with several rounds also the median rounds'.
cpu_ratio() {
  local r
  r="$(ratio "${R[$1.cpu_us]}" "${R[$2.cpu_us]}")x"
  [ "$ROUNDS" -gt 1 ] && r="$r (medians $(ratio "${R[$1.cpu_us.med]}" "${R[$2.cpu_us.med]}")x)"
  echo "$r"
}
PF_FLOOR=$(ratio "${R[pf.corsd.cpu_us]}" "${R[pf.floor.cpu_us]}")
PF_RPS=$(ratio "${R[pf.corsd.rps]}" "${R[pf.nginx.rps]}")
GET_CPU=$(ratio "${R[get.corsd.cpu_us]}" "${R[get.nginx.cpu_us]}")
GET_P99=$(ratio "${R[get.corsd.p99_us]}" "${R[get.nginx.p99_us]}")
GET_RPS=$(ratio "${R[get.corsd.rps]}" "${R[get.nginx.rps]}")
DL=$(ratio "${R[dl.corsd.mibs]}" "${R[dl.nginx.mibs]}")
DL_RSS=$(mib "${R[dl.corsd.rss]}")
SLOW_RSS=$(mib "${R[slow.corsd.rss]}")
IDLE=$(mib "${R[idle.corsd]}")
CORSD_WRITES=$((${R[dl.corsd.write]} + ${R[slow.corsd.write]}))
HOLD_RSS=$(mib "${R[hold.corsd.rss_max_kb]:-0}")
HOLD_ERR=${R[hold.corsd.errors]:-n/a}
HOLD_OK=no
[ "${R[hold.corsd.round2_ok]:-0}" = "$HOLD" ] && [ "$HOLD_ERR" = 0 ] && HOLD_OK=yes

NGX_VER=$(nginx -v 2>&1 | sed 's|.*nginx/||')
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
LIBEVENT=$(pkg-config --modversion libevent)
SIZE_NOTE="$BIG_MIB MiB"
[ "$BIG_MIB" != 256 ] && SIZE_NOTE="$BIG_MIB MiB (not 256 MiB: --quick or BENCH_BIG_MIB)"

cat <<EOF

## Performance

\`bench/run.sh$([ "$QUICK" = 1 ] && echo " --quick")\` on $(date -u +%Y-%m-%d): $(nproc) cores ($CPU_MODEL), Linux $(uname -r),
corsd $REV (Release), nginx $NGX_VER, libevent $LIBEVENT. Everything on 127.0.0.1, one
worker each; $WRK_CMD after a ${WARM} s warm-up, $ROUNDS round(s) with the servers
interleaved. CPU/req is the server process's utime+stime (/proc/PID/stat) over the
requests wrk completed: the best round$([ "$ROUNDS" -gt 1 ] && echo " (median, worst)"); the other columns are medians.
Load average $LOAD_START at the start, $LOAD_END at the end$([ "$QUICK" = 1 ] && echo "; a --quick smoke run, not for quoting").

**Preflight** (OPTIONS, allowed, answered locally):

| server | req/s | p50 ms | p99 ms | CPU µs/req | upstream CPU µs/req | peak RSS MiB | errors |
|---|---|---|---|---|---|---|---|
$(wrk_row corsd pf.corsd)
$(wrk_row "nginx (map + return 204)" pf.nginx)
$(wrk_row "floor (bare evhttp, fixed answer)" pf.floor)

**Proxied GET** (Origin allowed, ${#body}-byte JSON from the upstream, keep-alive both sides):

| server | req/s | p50 ms | p99 ms | CPU µs/req | upstream CPU µs/req | peak RSS MiB | errors |
|---|---|---|---|---|---|---|---|
$(wrk_row corsd get.corsd)
$(wrk_row nginx get.nginx)
$(wrk_row "upstream direct" get.direct)

**Download** of a $SIZE_NOTE file (curl; disk writes = /proc/PID/io write_bytes):

| through | reader | MiB/s | seconds | peak RSS MiB | disk writes MiB | complete |
|---|---|---|---|---|---|---|
$(dl_row corsd "full speed" dl.corsd)
$(dl_row nginx "full speed" dl.nginx)
$(dl_row "upstream direct" "full speed" dl.direct)
$(dl_row corsd "$RATE/s" slow.corsd)
$(dl_row nginx "$RATE/s" slow.nginx)

**Held connections**: $HOLD keep-alive connections, one GET on each ($WINDOW in flight at most),
all held idle, a second GET on each${HOLD_NOTE:+ ($HOLD_NOTE)}:

| server | opened | round 1 ok | round 2 ok | errors | RSS all idle MiB | peak RSS MiB | fds |
|---|---|---|---|---|---|---|---|
$(hold_row corsd hold.corsd)
$(hold_row nginx hold.nginx)

corsd's RSS once those clients had closed: $(mib "${R[hold.corsd.after]}") MiB.

Idle RSS after start: corsd $IDLE MiB, nginx worker $(mib "${R[idle.nginx]}") MiB (worker_connections $NGX_CONNS), floor $(mib "${R[idle.floor]}") MiB.

| target | measured | goal | |
|---|---|---|---|
| preflight CPU/req corsd / floor | $(cpu_ratio pf.corsd pf.floor) | ≤ 1.15x | $(verdict "$PF_FLOOR" '<=' 1.15) |
| preflight CPU/req corsd / nginx | $(cpu_ratio pf.corsd pf.nginx) | (info) | |
| preflight req/s corsd / nginx | ${PF_RPS}x | (info) | |
| proxied GET CPU/req corsd / nginx | $(cpu_ratio get.corsd get.nginx) | ≤ 1.0x | $(verdict "$GET_CPU" '<=' 1.0) |
| proxied GET p99 corsd / nginx | ${GET_P99}x | (info) | |
| proxied GET req/s corsd / nginx | ${GET_RPS}x | (info) | |
| download throughput corsd / nginx | ${DL}x | ≥ 0.9x | $(verdict "$DL" '>=' 0.9) |
| corsd peak RSS, download full speed | $DL_RSS MiB | < 32 MiB | $(verdict "$DL_RSS" '<' 32) |
| corsd peak RSS, download at $RATE/s | $SLOW_RSS MiB | < 32 MiB | $(verdict "$SLOW_RSS" '<' 32) |
| corsd disk writes, both downloads | $CORSD_WRITES B | 0 | $(verdict "$CORSD_WRITES" '==' 0) |
| corsd idle RSS | $IDLE MiB | < 8 MiB | $(verdict "$IDLE" '<' 8) |
| corsd, $HOLD held connections: all answered, errors | $HOLD_OK, $HOLD_ERR | yes, 0 | $([ "$HOLD_OK" = yes ] && echo ok || echo MISSED) |
| corsd peak RSS, $HOLD held connections | $HOLD_RSS MiB | < 256 MiB | $(verdict "$HOLD_RSS" '<' 256) |
EOF
if [ "$MISMATCH" = 1 ]; then
  echo
  echo "**Warning**: corsd and nginx did not answer the policy checks alike (see the log above)."
fi
