#!/usr/bin/env bash
# bench/pods: 100 pods (a `sleep` each) until all are Running and Ready through kplane, and the
# floor: the same namespaces, veth pairs, addresses and one process each made by a plain
# loop of `ip` commands. Runs as root inside its own network namespace. Not a test.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-100}
BIN=${1:-.build/release/kplane}
[ -x "$BIN" ] || swift build -c release --product kplane >/dev/null
exec ./e2e/isolated /dev/stdin "$BIN" "$N" <<'SCRIPT'
set -euo pipefail
BIN=$1; N=$2
export KPLANE_STATE_DIR=$(mktemp -d)
trap 'kill %1 2>/dev/null; wait; rm -rf $KPLANE_STATE_DIR' EXIT

echo "== floor: $N namespaces + veths + addresses + a process each, plain ip commands"
ip link add br-floor type bridge; ip addr add 10.88.0.1/16 dev br-floor; ip link set br-floor up
start=$(date +%s.%N)
for i in $(seq 1 $N); do
  ip netns add f$i
  ip link add vf$i type veth peer name eth0 netns f$i
  ip link set vf$i master br-floor up
  ip -n f$i addr add 10.88.$((i/250)).$((i%250+2))/16 dev eth0
  ip -n f$i link set eth0 up; ip -n f$i link set lo up
  ip -n f$i route add default via 10.88.0.1
  ip netns exec f$i sleep 3600 &
done
end=$(date +%s.%N)
floor=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}')
echo "floor: ${floor}s for $N pods ($(awk -v t="$floor" -v n="$N" 'BEGIN {printf "%.1f", t * 1000 / n}') ms per pod)"
for i in $(seq 1 $N); do ip netns pids f$i | xargs -r kill -9; ip netns del f$i; done
ip link del br-floor

echo "== kplane: $N pods until all are Running and Ready"
mkdir -p $KPLANE_STATE_DIR/m
python3 - $N > $KPLANE_STATE_DIR/m/pods.yaml <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{{name: c, command: [sleep, '3600']}}]\n---")
PY
"$BIN" up --components pods --metrics-listen 127.0.0.1:10249 --log-level warning >$KPLANE_STATE_DIR/up.log 2>&1 &
sleep 1
start=$(date +%s.%N)
"$BIN" apply -f $KPLANE_STATE_DIR/m/pods.yaml >/dev/null
while :; do
  ready=$("$BIN" get po -o json | python3 -c 'import json,sys; print(sum(1 for p in json.load(sys.stdin)["items"] if any(c["type"]=="Ready" and c["status"]=="True" for c in p["status"].get("conditions",[]))))')
  [ "$ready" -ge "$N" ] && break
  sleep 0.1
done
end=$(date +%s.%N)
kp=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}')
echo "kplane: ${kp}s for $N pods Running and Ready ($(awk -v t="$kp" -v n="$N" 'BEGIN {printf "%.1f", t * 1000 / n}') ms per pod)"
echo "ratio kplane / floor: $(awk -v a="$kp" -v b="$floor" 'BEGIN {printf "%.2f", a / b}')x"
SCRIPT
