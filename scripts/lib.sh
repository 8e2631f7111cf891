# Shared by scripts/up and scripts/test: find Swift, install the Debian packages kplane and
# its tests use. Sourced, not run.

# Debian packages: SQLite headers for the store; the real clients and tools the tests drive;
# the blog's database (examples/blog runs Debian's redis-server).
KPLANE_PACKAGES="libsqlite3-dev iproute2 nftables conntrack dnsutils curl wget python3 procps util-linux e2fsprogs mount redis-server"

ensure_swift() {
    if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null 2>&1 || { echo "kplane: Swift 6 toolchain not found (expected on PATH or in /opt/swift)" >&2; exit 1; }
}

install_packages() {
    local missing=""
    for p in $KPLANE_PACKAGES "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "kplane: missing Debian packages:$missing (run as root to install them)" >&2
        return 1
    fi
    echo "kplane: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q $missing >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
}
