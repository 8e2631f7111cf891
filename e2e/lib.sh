# Shared by the end-to-end scripts. They run as root inside a fresh network and mount
# namespace (see e2e/isolated), start a real `kplane up`, drive it with the real CLI and
# real clients, and print `ok - …` per check; the first failed check exits non-zero.
set -euo pipefail
K=${KPLANE_BIN:?KPLANE_BIN must point at the kplane binary}
export KPLANE_STATE_DIR=${KPLANE_STATE_DIR:-$(mktemp -d /tmp/kplane-e2e.XXXXXX)}
UP_PID=""
UP_LOG=$KPLANE_STATE_DIR/up.log

ok() { echo "ok - $*"; }
fail() {
    echo "FAIL - $*" >&2
    echo "--- kplane up log (tail) ---" >&2
    tail -40 "$UP_LOG" >&2 || true
    exit 1
}

# up ARGS…: starts kplane up in the background (DNS never forwards off the machine).
up() {
    "$K" up --dns-listen 0.0.0.0:53 --dns-upstream 127.0.0.1:9 --metrics-listen 127.0.0.1:10249 \
        --http-listen 127.0.0.1:18080 --https-listen 127.0.0.1:18443 --log-level info "$@" >>"$UP_LOG" 2>&1 &
    UP_PID=$!
}

stop_up() {
    if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
        kill -TERM "$UP_PID"
        wait "$UP_PID" || true
    fi
    UP_PID=""
}

cleanup() {
    stop_up
    pkill -9 -f "$KPLANE_STATE_DIR" 2>/dev/null || true
    rm -rf "$KPLANE_STATE_DIR"
}
trap cleanup EXIT

# eventually SECONDS COMMAND…: retries until the command succeeds.
eventually() {
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

jsonpath() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
pod_ip() { "$K" get po "$1" ${2:+-n $2} -o json | jsonpath '["status"]["podIP"]'; }
pod_ready() { "$K" get po "$1" -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(c["type"]=="Ready" and c["status"]=="True" for c in d["status"].get("conditions",[])) else 1)'; }
