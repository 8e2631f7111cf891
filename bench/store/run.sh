#!/usr/bin/env bash
# bench/store: apply and list 10,000 objects in the embedded SQLite store, and measure how
# fast a change reaches a watcher in another process. Also times the CLI path
# (`kplane apply -f` of 10,000 objects from YAML) against `sqlite3` inserting the same JSON
# rows, the floor for any store built on SQLite. Not a test: prints numbers.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product kplane >/dev/null
swift build -c release --product kplane-bench >/dev/null
BIN=.build/release
echo "== in-process store"
$BIN/kplane-bench store --count 10000 --self-path "$BIN/kplane-bench"

echo "== CLI: kplane apply -f (10,000 ConfigMaps from one YAML file)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/cms.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        f.write(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}, labels: {{app: bench}}}}\ndata: {{key: value-{i}}}\n---\n")
PY
start=$(date +%s.%N)
KPLANE_STATE_DIR=$tmp/state $BIN/kplane apply -f "$tmp/cms.yaml" >/dev/null
end=$(date +%s.%N)
kp=$(echo "$end - $start" | bc)
start=$(date +%s.%N)
n=$(KPLANE_STATE_DIR=$tmp/state $BIN/kplane get cm -o name | wc -l)
end=$(date +%s.%N)
get=$(echo "$end - $start" | bc)
echo "kplane apply: ${kp}s ($(echo "10000 / $kp" | bc) objects/s); kplane get cm -o name: $n objects in ${get}s"

echo "== floor: sqlite3 inserting 10,000 JSON rows plus 10,000 event rows in one transaction"
python3 - "$tmp/floor.sql" <<'PY'
import sys, json
with open(sys.argv[1], "w") as f:
    f.write("PRAGMA journal_mode=WAL;\nCREATE TABLE o(kind TEXT, ns TEXT, name TEXT, body TEXT, PRIMARY KEY(kind, ns, name)) WITHOUT ROWID;\nCREATE TABLE e(rv INTEGER PRIMARY KEY, body TEXT);\nBEGIN IMMEDIATE;\n")
    for i in range(10000):
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": "default", "labels": {"app": "bench"}}, "data": {"key": f"value-{i}"}}).replace("'", "''")
        f.write(f"INSERT INTO o VALUES('configmaps','default','cm-{i}','{body}');\nINSERT INTO e VALUES({i+1},'{body}');\n")
    f.write("COMMIT;\n")
PY
start=$(date +%s.%N)
sqlite3 "$tmp/floor.db" < "$tmp/floor.sql" >/dev/null
end=$(date +%s.%N)
fl=$(echo "$end - $start" | bc)
echo "sqlite3: ${fl}s; kplane apply / sqlite3 = $(echo "scale=1; $kp / $fl" | bc)x"
