#!/bin/bash
# bench/proxy/run.sh [SIZES]: the service proxy at scale, release build. Needs root and nft;
# everything that touches nftables runs in a fresh network namespace (e2e/isolated), so
# nothing touches the host. Default sizes: 1000,10000 (kube-proxy's layout at 10000 takes
# minutes to load; set KUBE_MAX=10000 to include it).
#   1. `kplane proxy bench`: the Swift side per change (incremental render + transaction), then
#      store -> informer cache -> proxy -> nft end to end: cold sync, add one Service, change
#      one endpoint (network programming latency: object written -> rules committed).
#   2. The transactions kplane wrote, loaded by plain `nft -f` (the kernel-side floor), and the
#      same Services in kube-proxy's chain-per-service layout.
set -eu
cd "$(dirname "$0")/../.."
SIZES="${1:-1000,10000}"
KUBE_MAX="${KUBE_MAX:-1000}"
OUT="${OUT:-/tmp/kplane-proxy-bench}"
SCRATCH="${SCRATCH:-.build-release}"
swift build -c release --product kplane --scratch-path "$SCRATCH" >&2
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/kplane"
rm -rf "$OUT"; mkdir -p "$OUT"
e2e/isolated -c "'$BIN' proxy bench --services '$SIZES' --write-rules '$OUT/kplane'"

for n in ${SIZES//,/ }; do
  [ "$n" -le "$KUBE_MAX" ] && python3 bench/proxy/kube-layout.py "$n" "$OUT/kube/n$n"
done
ms() { # ms FILE...: wall time of nft -f on each file in sequence, printed per file
  for f in "$@"; do
    s=$(date +%s%N); nft -f "$f"; e=$(date +%s%N)
    echo "$(basename "$f") $(( (e - s) / 1000000 )) ms"
  done
}
for n in ${SIZES//,/ }; do
  echo "== plain nft -f: $n services x 10 endpoints"
  echo "-- kplane (flat maps)"
  e2e/isolated -c "$(declare -f ms); ms '$OUT/kplane/n$n/full.nft' '$OUT/kplane/n$n/add-one.nft' '$OUT/kplane/n$n/change-endpoint.nft'; echo \"kernel_handles \$(nft -a list table inet kplane | grep -c handle) (chains, sets and rules)\""
  if [ -d "$OUT/kube/n$n" ]; then
    echo "-- kube-proxy layout (chains per service and endpoint)"
    e2e/isolated -c "$(declare -f ms); ms '$OUT/kube/n$n/full.nft' '$OUT/kube/n$n/add-one.nft' '$OUT/kube/n$n/change-endpoint.nft'"
    echo "kube_rules $(grep -c '^add rule' "$OUT/kube/n$n/full.nft") kube_chains $(grep -c '^add chain' "$OUT/kube/n$n/full.nft")"
  fi
done
