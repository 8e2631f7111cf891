#!/usr/bin/env bash
# Storage benchmark (not run by tests):
#  1. 1,000 PVs + 1,000 claims through the running StorageController (ClusterCache + watch),
#     MemoryStore and SQLiteStore: seconds until all are Bound.
#  2. 100 claims provisioned as image volumes (sparse ext4 + loop mount), in a private mount
#     namespace: total and per-volume time. Needs root.
#  3. The floor for (2): the same truncate + mkfs.ext4 + mount -o loop done by a bash loop.
# There is no Debian package of kube-controller-manager to bind against side by side.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${SCRATCH:-.build-storage}
CONFIG=${CONFIG:-debug}
KPLANE_STORAGE_BENCH=1 swift test -c "$CONFIG" --scratch-path "$SCRATCH" --filter StorageTests.StorageBench 2>&1 | grep '^BENCH' || true

if [ "$(id -u)" = 0 ]; then
  dir=$(mktemp -d /tmp/kplane-storage-bench-XXXXXX)
  start=$(date +%s.%N)
  unshare --mount --propagation private bash -c '
    for i in $(seq 1 100); do
      truncate -s 64M "$0/v$i.img"
      mkfs.ext4 -q -F -m 0 -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 "$0/v$i.img"
      mkdir -p "$0/v$i" && mount -o loop "$0/v$i.img" "$0/v$i" && mkdir -m 0777 "$0/v$i/data"
    done' "$dir"
  end=$(date +%s.%N)
  rm -rf "$dir"
  echo "BENCH shell.image volumes=100 total_seconds=$(echo "$end - $start" | bc) per_volume_mean_ms=$(echo "($end - $start) * 10" | bc)"
fi
