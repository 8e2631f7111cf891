#!/usr/bin/env bash
# Reverse-proxy benchmark: kplane's ingress vs nginx vs HAProxy in front of the same nginx
# backend serving fixed bodies, plain HTTP and HTTPS (TLS 1.3, ECDSA P-256), keep-alive,
# 1 KB and 100 KB; and, as the floor, `kplane-bench forward`: a byte forwarder on SwiftNIO with no
# HTTP at all, the least any proxy on NIO's channel pipeline spends per request (it is built with
# kplane: swift build -c release). Everything on 127.0.0.1. wrk is pinned to core 0, proxies and backend to
# core 1 (when the machine has two cores). Prints req/s, p50/p99 latency, proxy CPU per request,
# proxy RSS and the ratio to nginx.
#
#   bench/ingress/run.sh [path/to/kplane]      DURATION=10 CONNECTIONS=64 bench/ingress/run.sh
set -euo pipefail

KPLANE=${1:-$(dirname "$0")/../../.build/release/kplane}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
BASE=${BASE_PORT:-18000}
WORK=$(mktemp -d /tmp/kplane-ingress-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

need() {
  command -v "$1" >/dev/null 2>&1 && return
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q "$2" >/dev/null; else echo "missing $1 (apt-get install $2)" >&2; exit 1; fi
}
need wrk wrk; need nginx nginx-light; need haproxy haproxy; need openssl openssl
[ -x "$KPLANE" ] || { echo "kplane binary not found at $KPLANE (swift build -c release)" >&2; exit 1; }

LOAD_CPU=0; SERVER_CPU=1
[ "$(nproc)" -ge 2 ] || SERVER_CPU=0
pin() { taskset -c "$1" "${@:2}"; }

BACKEND=$((BASE+80)); NGX_HTTP=$((BASE+81)); NGX_HTTPS=$((BASE+443)); HAP_HTTP=$((BASE+82)); HAP_HTTPS=$((BASE+444))
KP_HTTP=$((BASE+83)); KP_HTTPS=$((BASE+445)); KP_METRICS=$((BASE+249))
FWD_HTTP=$((BASE+84)); FWD_HTTPS=$((BASE+446))
FORWARD=${KPLANE_BENCH:-$(dirname "$KPLANE")/kplane-bench}

mkdir -p "$WORK/www" "$WORK/logs"
head -c 1024 /dev/zero | tr '\0' 'a' > "$WORK/www/1k"
head -c 102400 /dev/zero | tr '\0' 'b' > "$WORK/www/100k"
chmod 755 "$WORK" "$WORK/www"; chmod 644 "$WORK/www/"*   # nginx workers run as nobody
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=bench.local" \
  -addext "subjectAltName=DNS:bench.local" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
cat "$WORK/cert.pem" "$WORK/key.pem" > "$WORK/haproxy.pem"

nginx_conf() {  # name, server blocks
  cat > "$WORK/$1.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/$1.pid;
error_log $WORK/logs/$1.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/$1-tmp; proxy_temp_path $WORK/$1-tmp; fastcgi_temp_path $WORK/$1-tmp; uwsgi_temp_path $WORK/$1-tmp; scgi_temp_path $WORK/$1-tmp;
  $2
}
NGX
}
nginx_conf backend "server { listen 127.0.0.1:$BACKEND; root $WORK/www; location / { } }"
nginx_conf proxy "upstream be { server 127.0.0.1:$BACKEND; keepalive 64; }
  server { listen 127.0.0.1:$NGX_HTTP; listen 127.0.0.1:$NGX_HTTPS ssl; http2 on;
    ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem; ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr; proxy_buffers 8 64k; proxy_buffer_size 64k; } }"
# nginx 1.22 has no "http2 on;": fall back to "listen ... ssl http2".
if ! nginx -t -c "$WORK/proxy.conf" >/dev/null 2>&1; then
  sed -i "s/listen 127.0.0.1:$NGX_HTTPS ssl; http2 on;/listen 127.0.0.1:$NGX_HTTPS ssl http2;/" "$WORK/proxy.conf"
fi
cat > "$WORK/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend f
  bind 127.0.0.1:$HAP_HTTP
  bind 127.0.0.1:$HAP_HTTPS ssl crt $WORK/haproxy.pem alpn h2,http/1.1
  option forwardfor
  default_backend b
backend b
  http-reuse always
  server s1 127.0.0.1:$BACKEND
HAP

taskset -c $SERVER_CPU nginx -c "$WORK/backend.conf" & PIDS+=($!)
taskset -c $SERVER_CPU nginx -c "$WORK/proxy.conf" & NGX_PID=$!; PIDS+=($NGX_PID)
taskset -c $SERVER_CPU haproxy -f "$WORK/haproxy.cfg" & HAP_PID=$!; PIDS+=($HAP_PID)

# kplane: a Service without selector, hand-written Endpoints to the backend, an Ingress with TLS.
export KPLANE_STATE_DIR=$WORK/kplane
B64() { base64 -w0 "$1"; }
cat > "$WORK/kplane.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: default}
spec: {ports: [{name: http, port: 80, targetPort: $BACKEND}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: backend, namespace: default}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{name: http, port: $BACKEND}]}]
---
apiVersion: v1
kind: Secret
metadata: {name: bench-tls, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: $(B64 "$WORK/cert.pem"), tls.key: $(B64 "$WORK/key.pem")}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bench, namespace: default}
spec:
  ingressClassName: kplane
  tls: [{hosts: [bench.local], secretName: bench-tls}]
  defaultBackend: {service: {name: backend, port: {number: 80}}}
YAML
taskset -c $SERVER_CPU "$KPLANE" up --components ingress -f "$WORK/kplane.yaml" --http-listen 127.0.0.1:$KP_HTTP --https-listen 127.0.0.1:$KP_HTTPS \
  --metrics-listen 127.0.0.1:$KP_METRICS --no-access-log > "$WORK/logs/kplane.out" 2>&1 & KP_PID=$!; PIDS+=($KP_PID)

FWD_PID=0
if [ -x "$FORWARD" ]; then
  taskset -c $SERVER_CPU "$FORWARD" forward --listen 127.0.0.1:$FWD_HTTP --to 127.0.0.1:$BACKEND > "$WORK/logs/forward.out" 2>&1 & FWD_PID=$!; PIDS+=($FWD_PID)
  taskset -c $SERVER_CPU "$FORWARD" forward --listen 127.0.0.1:$FWD_HTTPS --to 127.0.0.1:$BACKEND \
    --certificate "$WORK/cert.pem" --key "$WORK/key.pem" > "$WORK/logs/forward-tls.out" 2>&1 & FWD_TLS_PID=$!; PIDS+=($FWD_TLS_PID)
else
  echo "no kplane-bench next to kplane ($FORWARD): the NIO forwarder rows are left out" >&2
fi

for port in $BACKEND $NGX_HTTP $HAP_HTTP $KP_HTTP $( [ $FWD_PID = 0 ] || echo $FWD_HTTP ); do
  for _ in $(seq 100); do curl -sf -o /dev/null -H "Host: bench.local" "http://127.0.0.1:$port/1k" && break; sleep 0.1; done
done
for _ in $(seq 100); do curl -sf -o /dev/null -H "Host: bench.local" "http://127.0.0.1:$KP_HTTP/1k" && break; sleep 0.1; done
curl -sf -o /dev/null -H "Host: bench.local" "http://127.0.0.1:$KP_HTTP/1k" || { echo "kplane does not proxy:" >&2; curl -s -H "Host: bench.local" "http://127.0.0.1:$KP_HTTP/1k" >&2; "$KPLANE" ingress route http://bench.local/1k >&2; cat "$WORK/logs/kplane.out" >&2; exit 1; }

# CPU of a process and its children (nginx's worker, not just its master).
cpu_ticks() { local t=0 p; for p in "$1" $(pgrep -P "$1"); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
rss_mb() { local k=0 p; for p in "$1" $(pgrep -P "$1"); do k=$((k + $(awk '/VmRSS/ {print $2}' "/proc/$p/status"))); done; echo $((k / 1024)); }
HZ=$(getconf CLK_TCK)

declare -A RPS
printf "%-22s %-6s %-6s %10s %8s %8s %10s %7s %9s\n" proxy scheme body "req/s" "p50 ms" "p99 ms" "CPU µs/req" "RSS MB" "vs nginx"
run() {  # label pid scheme port body
  local label=$1 pid=$2 scheme=$3 port=$4 body=$5 url
  url="$scheme://bench.local:$port/$body"
  local t0; t0=$( [ "$pid" = 0 ] && echo 0 || cpu_ticks "$pid")
  local out; out=$(pin $LOAD_CPU wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Host: bench.local" \
    "$scheme://127.0.0.1:$port/$body" 2>&1)
  local t1; t1=$( [ "$pid" = 0 ] && echo 0 || cpu_ticks "$pid")
  local rps p50 p99 reqs errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  ms() { awk -v v="$1" 'BEGIN { if (v ~ /ms$/) {sub("ms","",v); print v} else if (v ~ /us$/) {sub("us","",v); print v/1000} else {sub("s","",v); print v*1000} }'; }
  local cpu="-" rss="-"
  if [ "$pid" != 0 ]; then cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v n="$reqs" 'BEGIN {printf "%.1f", (b-a)/hz*1e6/n}'); rss=$(rss_mb "$pid"); fi
  RPS["$label/$scheme/$body"]=$rps
  local ratio="-"
  [ -n "${RPS[nginx/$scheme/$body]:-}" ] && ratio=$(awk -v a="$rps" -v b="${RPS[nginx/$scheme/$body]}" 'BEGIN {printf "%.2fx", a/b}')
  printf "%-22s %-6s %-6s %10.0f %8.2f %8.2f %10s %7s %9s %s\n" "$label" "$scheme" "$body" "$rps" "$(ms "$p50")" "$(ms "$p99")" "$cpu" "$rss" "$ratio" "$errs"
}
for body in 1k 100k; do
  run "backend direct" 0 http $BACKEND $body
  for scheme in http https; do
    if [ $scheme = http ]; then np=$NGX_HTTP hp=$HAP_HTTP kp=$KP_HTTP; else np=$NGX_HTTPS hp=$HAP_HTTPS kp=$KP_HTTPS; fi
    run nginx "$NGX_PID" $scheme "$np" $body
    run haproxy "$HAP_PID" $scheme "$hp" $body
    run kplane "$KP_PID" $scheme "$kp" $body
    if [ $FWD_PID != 0 ]; then
      if [ $scheme = http ]; then run "NIO forwarder (floor)" $FWD_PID $scheme $FWD_HTTP $body; else run "NIO forwarder (floor)" $FWD_TLS_PID $scheme $FWD_HTTPS $body; fi
    fi
  done
done

# Route changes under load: 100 Ingress updates while wrk runs; count non-2xx and socket errors.
( for i in $(seq 100); do
    sed "s/name: bench, namespace: default}/name: bench, namespace: default, annotations: {kplane.dev\/proxy-read-timeout: \"$((30 + i % 30))\"}}/" "$WORK/kplane.yaml" > "$WORK/kplane-$i.yaml"
    "$KPLANE" apply -f "$WORK/kplane-$i.yaml" >/dev/null
  done ) & APPLY=$!
out=$(pin $LOAD_CPU wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H "Host: bench.local" "http://127.0.0.1:$KP_HTTP/1k" 2>&1)
wait $APPLY
echo "kplane under 100 route changes: $(awk '/Requests\/sec/ {print $2}' <<<"$out") req/s; errors: $(grep -E 'Non-2xx|Socket errors' <<<"$out" || echo none)"
