#!/usr/bin/env bash
# How long a change takes to reach the proxy with many Ingress rules: start
# `kplane up --components ingress -f` with N Ingresses (one host each, with their Services and
# two-endpoint EndpointSlices), then, ROUNDS times each:
#   - apply one new Ingress with its Service and slice, and poll the proxy with the new Host
#     until it stops answering 404;
#   - point an existing Service's slice at a live backend, and poll until the answer is 200
#     (the old endpoints refuse connections: 502).
# Times are from the moment `kplane apply` returns (and from its start, in brackets).
#
#   bench/ingress/change.sh [path/to/kplane]      RULES=10000 ROUNDS=5 bench/ingress/change.sh
set -euo pipefail

KPLANE=${1:-$(dirname "$0")/../../.build/release/kplane}
N=${RULES:-10000}
ROUNDS=${ROUNDS:-5}
BASE=${BASE_PORT:-19200}
WORK=$(mktemp -d /tmp/kplane-ingress-change.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
export KPLANE_STATE_DIR=$WORK/state

python3 "$(dirname "$0")/rules.py" "$N" "$WORK"

python3 -m http.server --bind 127.0.0.1 $((BASE+5)) > /dev/null 2>&1 & PIDS+=($!)
"$KPLANE" up --components ingress --http-listen 127.0.0.1:$BASE --https-listen off --metrics-listen 127.0.0.1:$((BASE+2)) \
  --no-access-log -f "$WORK/rules.yaml" > "$WORK/kplane.out" 2>&1 & PIDS+=($!)
for _ in $(seq 1200); do
  [ "$(curl -s "http://127.0.0.1:$((BASE+2))/metrics" | awk '/^kplane_ingress_route_rules/ {print $2+0}')" = "$N" ] && break
  sleep 0.5
done
sleep ${SETTLE:-5}

python3 - "$KPLANE" "$WORK" "$BASE" "$N" "$ROUNDS" "$(dirname "$0")" <<'PY'
import http.client, subprocess, sys, time
kplane, work, base, n, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, sys.argv[6])
sys.dont_write_bytecode = True
from rules import endpoint_slice, rule

def status(host):
    c = http.client.HTTPConnection("127.0.0.1", base, timeout=5)
    try:
        c.request("GET", "/", headers={"Host": host})
        return c.getresponse().status
    except OSError:
        return 0
    finally:
        c.close()

def apply(yaml, host, done):
    path = f"{work}/change.yaml"
    open(path, "w").write(yaml)
    t0 = time.monotonic()
    subprocess.run([kplane, "apply", "-f", path], check=True, stdout=subprocess.DEVNULL)
    t1 = time.monotonic()
    while not done(status(host)):
        if time.monotonic() - t1 > 30: return None
        time.sleep(0.002)
    t2 = time.monotonic()
    return (t2 - t1) * 1000, (t2 - t0) * 1000

def report(what, times):
    done = [t for t in times if t]
    print(f"{what}: " + ", ".join(f"{a:.0f} ms ({b:.0f})" for a, b in done)
          + (f"; {len(times) - len(done)} not seen within 30 s" if len(done) < len(times) else ""))

new = []
for r in range(rounds):
    i = n + r
    yaml = rule(i, [f"127.20.0.{r + 1}"])
    new.append(apply(yaml, f"host-{i}.example.com", lambda s: s not in (0, 404)))
    time.sleep(1)
report(f"new Ingress with {n} rules, ms after apply returned (from its start)", new)

moved = []
for r in range(rounds):
    i = 17 * r + 3
    moved.append(apply(endpoint_slice(f"svc-{i}-abc", f"svc-{i}", ["127.0.0.1"], base + 5), f"host-{i}.example.com", lambda s: s == 200))
    time.sleep(1)
report(f"endpoint change with {n} rules, ms after apply returned (from its start)", moved)
PY
