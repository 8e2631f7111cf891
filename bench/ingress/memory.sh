#!/usr/bin/env bash
# Memory with many Ingress rules: RSS of `kplane up --components ingress` empty, with N Ingresses
# (one host each) + their Services and two-endpoint EndpointSlices given with -f at start, and
# with the same objects applied to a running kplane; then nginx with an equivalent config (one
# server block per host, one upstream of two servers per service). Endpoints are 127.x
# addresses that are never contacted. Everything on 127.0.0.1. PSS is read once it has settled.
#
#   bench/ingress/memory.sh [path/to/kplane]      RULES=10000 bench/ingress/memory.sh
set -euo pipefail

KPLANE=${1:-$(dirname "$0")/../../.build/release/kplane}
N=${RULES:-10000}
BASE=${BASE_PORT:-19100}
WORK=$(mktemp -d /tmp/kplane-ingress-memory.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
command -v nginx >/dev/null || { echo "missing nginx (apt-get install nginx-light)" >&2; exit 1; }

python3 "$(dirname "$0")/rules.py" "$N" "$WORK"
sed -i "s/PORT/$((BASE+1))/" "$WORK/servers.conf"

# Proportional set size of a process and its children (nginx's master and worker share the
# configuration's pages after fork: RSS would count them twice).
rss_kb() { local k=0 p; for p in "$1" $(pgrep -P "$1" || true); do k=$((k + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup"))); done; echo "$k"; }
rules() { curl -s "http://127.0.0.1:$((BASE+2))/metrics" | awk '/^kplane_ingress_route_rules/ {print $2+0}'; }
start_kplane() {  # extra args...
  export KPLANE_STATE_DIR=$WORK/state-$RANDOM
  "$KPLANE" up --components ingress --http-listen 127.0.0.1:$BASE --https-listen 127.0.0.1:$((BASE+3)) \
    --metrics-listen 127.0.0.1:$((BASE+2)) --no-access-log "$@" > "$WORK/kplane.out" 2>&1 & PID=$!
}
wait_rules() {  # count -> seconds waited
  local t0; t0=$(date +%s.%N)
  for _ in $(seq 1200); do [ "$(rules)" = "$1" ] && break; sleep 0.5; done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b-a}'
}
stop_kplane() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
# Waits until the process's PSS has not moved by more than 1 MB for 10 s (status writes and
# the heap scavenger go on for several seconds after the last rule is routed); 90 s at most.
settle() {
  local last=0 still=0 now
  for _ in $(seq 45); do
    sleep 2; now=$(rss_kb "$PID")
    if [ $(( now > last ? now - last : last - now )) -lt 1024 ]; then still=$((still + 1)); else still=0; fi
    last=$now; [ "$still" -ge 5 ] && break
  done
}

printf "%-44s %10s %10s %12s\n" "setup" "PSS MB" "peak RSS" "ready s"
start_kplane; t=$(wait_rules 0); sleep 3
printf "%-44s %10d %10d %12s\n" "kplane, no Ingress" $(( $(rss_kb $PID) / 1024 )) $(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 )) "$t"
empty=$(rss_kb $PID); stop_kplane

start_kplane -f "$WORK/rules.yaml"; t=$(wait_rules "$N"); settle
r=$(rss_kb $PID)
printf "%-44s %10d %10d %12s\n" "kplane, $N rules with -f at start" $((r / 1024)) $(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 )) "$t"
echo "  per rule (Ingress + Service + EndpointSlice): $(( (r - empty) / N )) KB"
stop_kplane

start_kplane; wait_rules 0 >/dev/null
t0=$(date +%s.%N); "$KPLANE" apply -f "$WORK/rules.yaml" > /dev/null; t=$(wait_rules "$N")
t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b-a}'); settle
r=$(rss_kb $PID)
printf "%-44s %10d %10d %12s\n" "kplane, $N rules applied while running" $((r / 1024)) $(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 )) "$t"
echo "  per rule: $(( (r - empty) / N )) KB"
stop_kplane

for conf in empty full; do
  cat > "$WORK/nginx-$conf.conf" <<NGX
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log $WORK/nginx.err warn;
events { worker_connections 1024; }
http { access_log off; server_names_hash_max_size 65536; server_names_hash_bucket_size 128; variables_hash_max_size 4096;
  client_body_temp_path $WORK/t; proxy_temp_path $WORK/t; fastcgi_temp_path $WORK/t; uwsgi_temp_path $WORK/t; scgi_temp_path $WORK/t;
  $( [ $conf = full ] && echo "include $WORK/servers.conf;" || echo "server { listen 127.0.0.1:$((BASE+1)); }" ) }
NGX
  t0=$(date +%s.%N)
  nginx -c "$WORK/nginx-$conf.conf" & PID=$!
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$((BASE+1))/" && break; sleep 0.1; done
  t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b-a}'); sleep 2
  printf "%-44s %10d %10s %12s\n" "nginx 1 worker, $( [ $conf = full ] && echo "$N server blocks" || echo "one server block")" $(( $(rss_kb $PID) / 1024 )) "-" "$t"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
done
