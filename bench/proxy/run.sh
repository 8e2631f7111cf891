#!/bin/bash
# bench/proxy/run.sh [SIZES]: kplane's flat nftables layout against kube-proxy's layout, both
# loaded with plain `nft -f` inside a fresh network namespace (unshare --net), so nothing
# touches the host. Needs root and nft. Default sizes: 1000 10000 (kube-proxy's layout at
# 10000 takes minutes; set KUBE_MAX=10000 to include it).
set -eu
cd "$(dirname "$0")/../.."
SIZES="${1:-1000 10000}"
KUBE_MAX="${KUBE_MAX:-1000}"
OUT="${OUT:-/tmp/kplane-proxy-bench}"
rm -rf "$OUT"; mkdir -p "$OUT"
# kplane's transactions (and its in-process render/diff times) from the renderer itself.
KPLANE_PROXY_BENCH_DIR="$OUT/kplane" swift test --scratch-path "${SCRATCH:-.build-proxy}" --filter ProxyBenchmarkGenerator >/dev/null
for n in $SIZES; do
  [ "$n" -le "$KUBE_MAX" ] && python3 bench/proxy/kube-layout.py "$n" "$OUT/kube/n$n"
done
ms() { # ms FILE...: wall time of nft -f on each file in sequence, printed per file
  for f in "$@"; do
    s=$(date +%s%N); nft -f "$f"; e=$(date +%s%N)
    echo "$(basename "$f") $(( (e - s) / 1000000 ))"
  done
}
for n in $SIZES; do
  echo "== $n services x 10 endpoints"
  echo "-- kplane (flat maps): render/diff in Swift (debug build unless SCRATCH is a release build)"
  cat "$OUT/kplane/n$n/render.txt"
  unshare --net bash -c "$(declare -f ms); ms '$OUT/kplane/n$n/full.nft' '$OUT/kplane/n$n/add-one.nft' '$OUT/kplane/n$n/change-endpoint.nft'; echo \"kernel_rules \$(nft -a list table inet kplane | grep -c handle)\""
  if [ -d "$OUT/kube/n$n" ]; then
    echo "-- kube-proxy layout (chains per service and endpoint)"
    unshare --net bash -c "$(declare -f ms); ms '$OUT/kube/n$n/full.nft' '$OUT/kube/n$n/add-one.nft' '$OUT/kube/n$n/change-endpoint.nft'"
    echo "kube_rules $(grep -c '^add rule' "$OUT/kube/n$n/full.nft") kube_chains $(grep -c '^add chain' "$OUT/kube/n$n/full.nft")"
  fi
done
