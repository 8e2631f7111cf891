#!/usr/bin/env bash
# Cluster DNS benchmark: kplane's `dns` component against Knot DNS serving the same records
# as a static zone, with dnsperf. 10,000 Services; query mix 60 % A, 20 % SRV, 20 % NXDOMAIN;
# then forwarded names through kplane's cache (Knot is the upstream for example.test).
#
#   bench/dns/run.sh [path/to/kplane]          (default: .build-bench/release/kplane, built if missing)
#
# Env: SERVICES (10000), DURATION (10 s per run), SERVER_CPU (1), CLIENT_CPU (0).
# Needs: dnsperf, knotd (Debian: apt-get install -y dnsperf knot), python3, taskset.
# Everything listens on 127.0.0.1 high ports; nothing leaves the machine.
set -euo pipefail

SERVICES=${SERVICES:-10000}
DURATION=${DURATION:-10}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
KPORT=${KPORT:-25353}
KNOTPORT=${KNOTPORT:-25354}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KPLANE=${1:-$ROOT/.build-bench/release/kplane}
OUT=$ROOT/bench/out/dns
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/kplane-dns-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in dnsperf knotd knotc python3 taskset dig; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y dnsperf knot bind9-dnsutils)"; exit 1; }
done
if [[ ! -x $KPLANE ]]; then
    echo "building kplane (release)…"
    (cd "$ROOT" && swift build -c release --scratch-path .build-bench --product kplane >/dev/null)
fi

echo "== generating $SERVICES services, the Knot zone and the query files in $WORK"
python3 - "$SERVICES" "$WORK" <<'PY'
import random, sys
n, work = int(sys.argv[1]), sys.argv[2]
random.seed(42)
ip = lambda i: f"10.96.{1 + i // 250}.{1 + i % 250}"
with open(f"{work}/services.yaml", "w") as f:
    f.write("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench\n")
    for i in range(n):
        f.write(f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n  namespace: bench\n"
                f"spec:\n  clusterIP: {ip(i)}\n  ports:\n  - name: http\n    protocol: TCP\n    port: 80\n")
with open(f"{work}/cluster.local.zone", "w") as f:
    f.write("$ORIGIN cluster.local.\n$TTL 5\n@ SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5\n"
            "@ NS ns.dns\nns.dns A 10.96.0.10\ndns-version 28800 TXT \"1.1.0\"\n")
    for i in range(n):
        f.write(f"svc-{i}.bench.svc A {ip(i)}\n_http._tcp.svc-{i}.bench.svc SRV 0 100 80 svc-{i}.bench.svc.cluster.local.\n")
with open(f"{work}/example.test.zone", "w") as f:
    f.write("$ORIGIN example.test.\n$TTL 300\n@ SOA ns.example.test. h.example.test. 1 7200 1800 86400 60\n@ NS ns\nns A 127.0.0.1\n")
    for i in range(1000):
        f.write(f"www-{i} A 192.0.2.{i % 250 + 1}\n")
with open(f"{work}/cluster.txt", "w") as f:
    for _ in range(200000):
        r, i = random.random(), random.randrange(n)
        if r < 0.6: f.write(f"svc-{i}.bench.svc.cluster.local A\n")
        elif r < 0.8: f.write(f"_http._tcp.svc-{i}.bench.svc.cluster.local SRV\n")
        else: f.write(f"nx-{i}.bench.svc.cluster.local A\n")
with open(f"{work}/forward.txt", "w") as f:
    for _ in range(200000):
        f.write(f"www-{random.randrange(1000)}.example.test A\n")
PY

mkdir -p "$WORK/knot/db" "$WORK/knot/run"
cat > "$WORK/knot/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$KNOTPORT
    rundir: $WORK/knot/run
    background-workers: 1
    udp-workers: 1
    tcp-workers: 1
database:
    storage: $WORK/knot/db
log:
  - target: stderr
    any: warning
zone:
  - domain: cluster.local
    file: $WORK/cluster.local.zone
    storage: $WORK/knot/db
  - domain: example.test
    file: $WORK/example.test.zone
    storage: $WORK/knot/db
CONF

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_answer() { # port name expected-status timeout-seconds
    local deadline=$((SECONDS + $4))
    until dig @127.0.0.1 -p "$1" "$2" +time=1 +tries=1 2>/dev/null | grep -q "status: $3"; do
        (( SECONDS < deadline )) || { echo "timeout waiting for $2 on port $1"; return 1; }
        sleep 0.05
    done
}

# dnsperf run: label port file [max_qps]; prints "qps avg_ms" and saves the log.
perf() {
    local label=$1 port=$2 file=$3 qps=${4:-}
    taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$DURATION" -c 8 -q 200 ${qps:+-Q $qps} \
        > "$OUT/$label.txt" 2>&1
    awk '/Queries per second/ {q=$4} /Average Latency/ {l=$4*1000} /Queries lost/ {lost=$3}
         END {printf "%.0f %.3f %s\n", q, l, lost}' "$OUT/$label.txt"
}

# p99 latency at half load: dnsperf holds the rate (no per-query output, which would load the
# client's core), while a probe on the same core sends one query at a time and times each answer.
p99() {
    local port=$1 file=$2 qps=$3
    taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$DURATION" -c 8 -q 200 -Q "$qps" > /dev/null 2>&1 &
    local load=$!
    sleep 1
    taskset -c "$CLIENT_CPU" python3 - "$port" "$file" $((DURATION - 2)) <<'PY'
import socket, struct, sys, time
port, names, seconds = int(sys.argv[1]), [l.split() for l in open(sys.argv[2]).read().splitlines()[:5000]], float(sys.argv[3])
types = {"A": 1, "SRV": 33, "AAAA": 28}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.connect(("127.0.0.1", port))
samples, i, end = [], 0, time.perf_counter() + seconds
while time.perf_counter() < end:
    i += 1
    time.sleep(0.001)
    name, qtype = names[i % len(names)]
    q = struct.pack(">HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + b"".join(
        bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0" + struct.pack(">HH", types[qtype], 1)
    t = time.perf_counter()
    s.send(q)
    try:
        while struct.unpack(">H", s.recv(4096)[:2])[0] != i & 0xFFFF: pass
    except socket.timeout:
        samples.append(1.0); continue
    samples.append(time.perf_counter() - t)
samples.sort()
print(f"{samples[int(len(samples) * 0.99)] * 1000:.3f}")
PY
    wait "$load"
}

measure() { # name pid port file
    local name=$1 pid=$2 port=$3 file=$4
    local t0 t1 peak avg lost half
    t0=$(cpu_ticks "$pid")
    read -r peak avg lost < <(perf "$name-peak" "$port" "$file")
    t1=$(cpu_ticks "$pid")
    local cpu_us
    cpu_us=$(python3 -c "print(f'{($t1-$t0)/$(getconf CLK_TCK)*1e6/max(1,$peak*$DURATION):.1f}')")
    half=$(p99 "$port" "$file" $((peak / 2)))
    printf "%-28s %9s %9s %9s %12s %10s\n" "$name" "$peak" "$avg" "$half" "$cpu_us" "$lost"
    echo "$name $peak $avg $half $cpu_us" >> "$OUT/summary.txt"
}

: > "$OUT/summary.txt"
echo "== starting Knot ($(knotd --version | head -1)) on 127.0.0.1:$KNOTPORT, CPU $SERVER_CPU"
t0=$(date +%s.%N)
taskset -c "$SERVER_CPU" knotd -c "$WORK/knot/knot.conf" 2> "$OUT/knot.log" &
KNOT=$!; PIDS+=("$KNOT")
wait_answer "$KNOTPORT" "svc-$((SERVICES - 1)).bench.svc.cluster.local" NOERROR 60
knot_ready=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.2f}')")

echo "== starting kplane dns on 127.0.0.1:$KPORT, CPU $SERVER_CPU (upstream: Knot for example.test)"
export KPLANE_STATE_DIR=$WORK/state
taskset -c "$SERVER_CPU" "$KPLANE" up --components dns --dns-listen "127.0.0.1:$KPORT" \
    --dns-upstream "127.0.0.1:$KNOTPORT" --metrics-listen 127.0.0.1:0 --log-level warning > "$OUT/kplane.log" 2>&1 &
KP=$!; PIDS+=("$KP")
wait_answer "$KPORT" "kubernetes.default.svc.cluster.local" NOERROR 60
rss_empty=$(rss_kb "$KP")
t0=$(date +%s.%N)
"$KPLANE" apply -f "$WORK/services.yaml" > /dev/null
t_applied=$(date +%s.%N)
wait_answer "$KPORT" "svc-$((SERVICES - 1)).bench.svc.cluster.local" NOERROR 120
t_ready=$(date +%s.%N)
# Steady state: kplane gives the burst's garbage back a second or two after it (HeapScavenger).
sleep 3
rss_full=$(rss_kb "$KP")

echo
printf "%-28s %9s %9s %9s %12s %10s\n" "server / load" "QPS" "avg ms" "p99@50%" "CPU µs/query" "lost"
measure "knot cluster names" "$KNOT" "$KNOTPORT" "$WORK/cluster.txt"
measure "kplane cluster names" "$KP" "$KPORT" "$WORK/cluster.txt"
measure "knot example.test (auth)" "$KNOT" "$KNOTPORT" "$WORK/forward.txt"
measure "kplane forwarded (cached)" "$KP" "$KPORT" "$WORK/forward.txt"
rss_after=$(rss_kb "$KP")
knot_rss=$(rss_kb "$KNOT")

echo
python3 - "$OUT/summary.txt" "$SERVICES" "$rss_empty" "$rss_full" "$rss_after" "$knot_rss" "$knot_ready" \
    "$(python3 -c "print($t_applied - $t0)")" "$(python3 -c "print($t_ready - $t_applied)")" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    p = line.rsplit(None, 4)
    rows[p[0]] = [float(x) for x in p[1:]]
n = int(sys.argv[2]); empty, full, after, knot = map(int, sys.argv[3:7])
k, c = rows["kplane cluster names"], rows["knot cluster names"]
print(f"kplane/knot QPS on cluster names: {k[0] / c[0]:.2f}x   CPU per query: {k[3]:.1f} µs vs {c[3]:.1f} µs")
print(f"kplane QPS per core (server pinned to one CPU): {k[0]:.0f}  (goal ≥ 35,000; CoreDNS ≈ 16,000–17,000)")
print(f"kplane p99 at half of peak: {k[2]:.3f} ms (goal < 1 ms)")
f = rows["kplane forwarded (cached)"]
print(f"kplane forwarded+cached QPS: {f[0]:.0f}  ({f[0] / rows['knot example.test (auth)'][0]:.2f}x Knot answering it directly)")
print(f"RSS kplane: {empty/1024:.1f} MiB empty, {full/1024:.1f} MiB with {n} services, {after/1024:.1f} MiB after the runs"
      f"  -> {(full - empty) * 1024 / n:.0f} bytes per service (whole process: store, cache, zone)")
print(f"RSS knot: {knot/1024:.1f} MiB; zone ready in {float(sys.argv[7]):.2f} s")
print(f"kplane: apply of {n} services {float(sys.argv[8]):.2f} s, answered {float(sys.argv[9]):.2f} s later")
PY
