#!/bin/sh
# bench/policy/run.sh: NetworkPolicy enforcement at 1,000 pods and 1,000 policies.
# Runs entirely inside a private network namespace (shared/tools/isolated): nothing touches
# the host's tables or interfaces. Needs root, nft, python3 and a built test bundle
# (swift build --scratch-path .build-policy --build-tests; for release, CONFIG=release and
# swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path .build-policy).
#   1. the Swift driver (Tests/NetworkPolicyTests/PolicyBenchmark.swift): render time, full
#      sync through nft, pod label change → enforced latency;
#   2. new TCP connections per second through the forward hook from a client netns to a
#      server netns on a bridge: no table, 10 policies, 1,000 policies (1,000 pods each).
set -eu
cd "$(dirname "$0")/../.."
SCRATCH=${SCRATCH:-.build-policy}
CONFIG=${CONFIG:-debug}
ISOLATED=${ISOLATED:-/work/shared/tools/isolated}
OUT=$(mktemp -d /tmp/kplane-policy-bench.XXXXXX)
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
chmod 755 "$OUT"

"$ISOLATED" sh -c "KPLANE_POLICY_BENCH=$OUT KPLANE_POLICY_BENCH_APPLY=1 swift test -c $CONFIG --scratch-path $SCRATCH --skip-build --filter PolicyBenchmark >$OUT/test.log 2>&1" || { cat "$OUT/test.log"; exit 1; }
cat "$OUT/driver.txt"

cat >"$OUT/server.py" <<'PY'
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()
PY
cat >"$OUT/client.py" <<'PY'
import socket, sys, time
end = time.time() + float(sys.argv[1]); n = 0
while time.time() < end:
    s = socket.create_connection(("10.244.0.2", 80), timeout=2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close: no TIME_WAIT pile-up
    s.close(); n += 1
print(n / float(sys.argv[1]))
PY

"$ISOLATED" sh -c "
set -e
echo 1 > /proc/sys/net/ipv4/ip_forward
ip link add kbr0 type bridge && ip addr add 10.244.0.1/16 dev kbr0 && ip link set kbr0 up
echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables
for n in srv:2 cli:3; do
  name=\${n%:*}; host=\${n#*:}
  ip netns add \$name
  ip link add v\$name type veth peer name eth0 netns \$name
  ip link set v\$name master kbr0 up
  ip -n \$name addr add 10.244.0.\$host/16 dev eth0
  ip -n \$name link set eth0 up; ip -n \$name link set lo up
done
ip netns exec srv python3 $OUT/server.py & SRV=\$!
sleep 0.5
run() {
  taskset -c 0 ip netns exec cli python3 $OUT/client.py $SECONDS_PER_RUN
}
# Alternate the three set-ups, several rounds, and keep the median of each (the machine is shared).
none=''; p10=''; p1000=''
for round in 1 2 3 4 5; do
  nft delete table inet kplane-policy 2>/dev/null || true
  none=\"\$none \$(run)\"
  nft -f $OUT/policies-10.nft;  p10=\"\$p10 \$(run)\"
  nft delete table inet kplane-policy
  nft -f $OUT/policies-1000.nft; p1000=\"\$p1000 \$(run)\"
done
python3 - \"\$none\" \"\$p10\" \"\$p1000\" <<'PY'
import sys, statistics
b, a, c = (statistics.median(float(x) for x in arg.split()) for arg in sys.argv[1:4])
print('new TCP connections/s, median of 5 alternating runs (client pinned to CPU 0): no policy table %.0f, 10 policies %.0f, 1,000 policies %.0f' % (b, a, c))
print('per-connection cost, 1,000 policies vs 10: %+.1f %%' % ((a / c - 1) * 100))
PY
kill \$SRV
"
rm -rf "$OUT"
