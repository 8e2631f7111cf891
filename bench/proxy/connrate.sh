#!/bin/bash
# bench/proxy/connrate.sh [SECONDS]: new connections per second through a ClusterIP with 10
# and with 10,000 Services (x 10 endpoints) loaded, in a fresh network namespace (root; wrk
# and nginx). The client (wrk, one new connection per request) and nginx run on the same
# "node"; the ClusterIP 10.100.0.1:80 of Service s0 is DNATed by kplane's table to its ten
# endpoints 10.128.0.0-9:8080, which are addresses on lo. The two table sizes alternate three
# times (ROUNDS=3, in ABBA order); medians are compared. The rules come from `kplane proxy bench --write-rules` (run.sh writes them).
set -eu
cd "$(dirname "$0")/../.."
SECS="${1:-5}"
ROUNDS="${ROUNDS:-3}"
OUT="${OUT:-/tmp/kplane-proxy-bench}"
SCRATCH="${SCRATCH:-.build-release}"
for t in wrk nginx nft; do command -v $t >/dev/null || { echo "connrate: $t missing" >&2; exit 2; }; done
if [ ! -f "$OUT/kplane/n10/full.nft" ] || [ ! -f "$OUT/kplane/n10000/full.nft" ]; then
  swift build -c release --product kplane --scratch-path "$SCRATCH" >&2
  BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/kplane"
  "$BIN" proxy bench --render-only --services 10,10000 --adds 1 --changes 1 --write-rules "$OUT/kplane" >/dev/null
fi
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/nginx.conf" <<CONF
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 8080 reuseport backlog=4096; location / { return 200 "ok\n"; } }
}
CONF
cat > "$DIR/inside.sh" <<INSIDE
set -eu
for i in 0 1 2 3 4 5 6 7 8 9; do ip addr add 10.128.0.\$i/32 dev lo; done
# The ClusterIP range needs a route for the first lookup; the nat output hook DNATs before it is used.
ip link add kb0 type bridge && ip link set kb0 up && ip addr add 192.168.50.1/24 dev kb0
ip route add 10.96.0.0/12 dev kb0
sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 2>/dev/null || true
nginx -c $DIR/nginx.conf
trap 'kill \$(cat $DIR/nginx.pid) 2>/dev/null || true' EXIT
sleep 0.3
curl -s --max-time 2 http://10.100.0.1/ >/dev/null 2>&1 || true
rate() { wrk -t1 -c16 -d${SECS}s -H 'Connection: close' http://10.100.0.1/ | awk '/Requests\/sec/ {print \$2} /Non-2xx|Socket errors/ {print "#", \$0 > "/dev/stderr"}'; }
for round in \$(seq $ROUNDS); do
  # ABBA order, and conntrack flushed before each run: state left by one run (conntrack and
  # TIME_WAIT entries) must not count against whichever size runs next.
  order="10 10000"; [ \$((round % 2)) -eq 0 ] && order="10000 10"
  for n in \$order; do
    nft -f $OUT/kplane/n\$n/full.nft
    conntrack -F >/dev/null 2>&1 || true
    sleep 2   # the replaced table is freed after the transaction; let that finish
    echo "services \$n round \$round conn_per_s \$(rate)"
  done
done
INSIDE
e2e/isolated "$DIR/inside.sh" | tee "$DIR/out.txt"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
a=$(awk '$2 == 10 { print $6 }' "$DIR/out.txt" | median)
b=$(awk '$2 == 10000 { print $6 }' "$DIR/out.txt" | median)
awk -v a="$a" -v b="$b" 'BEGIN { printf "median conn/s: 10 services %.0f, 10000 services %.0f, ratio 10000/10 = %.3f\n", a, b, b / a }'
